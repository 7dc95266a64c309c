namespace Orchestrator.Domain;

/// <summary>
/// The one rule for disk and job ids, used by every entry point (API, actors, journal recovery). It is QEMU's
/// id_wellformed() (a letter, then letters, digits, '-', '.', '_') capped at <see cref="MaxLength"/>, which also makes
/// every id a valid Akka actor name and persistence id suffix. Checked character by character, not with a regex:
/// .NET's '$' matches before a trailing newline, which once let "a\n" through and poisoned the journal.
/// </summary>
public static class IdRule
{
    public const int MaxLength = 64;

    /// <summary>Null when <paramref name="value"/> is a well-formed id; otherwise why not, naming <paramref name="field"/>.</summary>
    public static string? Problem(string? value, string field)
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"Parameter '{field}' is missing or empty";
        }

        if (value.Length > MaxLength)
        {
            return $"Parameter '{field}' expects an identifier of at most {MaxLength} characters; got {value.Length}";
        }

        if (!IsAsciiLetter(value[0]))
        {
            return $"Parameter '{field}' expects an identifier: '{Printable(value)}' must start with a letter (A-Z, a-z)";
        }

        for (var i = 1; i < value.Length; i++)
        {
            var c = value[i];
            if (!IsAsciiLetter(c) && c is not (>= '0' and <= '9' or '-' or '.' or '_'))
            {
                return $"Parameter '{field}' expects an identifier: '{Printable(value)}' holds {Describe(c)} at position {i}; only letters, digits, '-', '.' and '_' are allowed";
            }
        }

        // No id is reserved: a disk is persisted as "disk-{id}" and the registry as "registry-{node}", which no disk's
        // persistence id can equal, so "manager" or "registry" are disks like any other.
        return null;
    }

    public static bool IsValid(string? value) => Problem(value, "id") is null;

    /// <summary>The value with control characters shown as escapes, so an error message cannot forge log lines.</summary>
    public static string Printable(string value)
    {
        var text = new System.Text.StringBuilder(value.Length);
        foreach (var c in value.Length > 80 ? value[..80] : value)
        {
            text.Append(char.IsControl(c) || char.IsWhiteSpace(c) && c != ' ' ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return value.Length > 80 ? text.Append("...").ToString() : text.ToString();
    }

    private static bool IsAsciiLetter(char c) => c is >= 'A' and <= 'Z' or >= 'a' and <= 'z';

    private static string Describe(char c) => char.IsControl(c) || char.IsWhiteSpace(c) ? $"the control or space character U+{(int)c:X4}" : $"'{c}'";
}
