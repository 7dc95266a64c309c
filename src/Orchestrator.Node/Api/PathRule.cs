using System.Text;
using Orchestrator.Domain;

namespace Orchestrator.Node.Api;

/// <summary>
/// What a path given to the API must be before it is resolved or opened: no control characters (a NUL would cut the
/// name the kernel sees, a newline would forge log lines), valid Unicode (a lone surrogate would be encoded as U+FFFD,
/// naming another file than the one the journal records), and within Linux's limits (PATH_MAX, NAME_MAX).
/// </summary>
public static class PathRule
{
    /// <summary>Linux's PATH_MAX less the terminating NUL.</summary>
    public const int MaxPathBytes = 4095;

    /// <summary>Linux's NAME_MAX: one component of a path.</summary>
    public const int MaxNameBytes = 255;

    /// <summary>Null when <paramref name="path"/> is acceptable; otherwise why not, naming <paramref name="field"/>.</summary>
    public static string? Problem(string path, string field)
    {
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (char.IsControl(c))
            {
                return $"Parameter '{field}' holds the control character U+{(int)c:X4} at position {i}: '{IdRule.Printable(path)}'";
            }

            if (char.IsHighSurrogate(c) && i + 1 < path.Length && char.IsLowSurrogate(path[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return $"Parameter '{field}' is not valid Unicode: a lone surrogate U+{(int)c:X4} at position {i}";
            }
        }

        var bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes > MaxPathBytes)
        {
            return $"Parameter '{field}' is {bytes} bytes long; a path may have at most {MaxPathBytes}";
        }

        var longest = path.Split('/').MaxBy(Encoding.UTF8.GetByteCount) ?? string.Empty;
        var longestBytes = Encoding.UTF8.GetByteCount(longest);
        return longestBytes > MaxNameBytes
            ? $"Parameter '{field}' has a component of {longestBytes} bytes; a file or folder name may have at most {MaxNameBytes}"
            : null;
    }
}
