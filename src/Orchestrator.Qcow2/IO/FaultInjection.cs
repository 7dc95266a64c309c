using System.Globalization;

namespace Orchestrator.Qcow2.IO;

/// <summary>
/// Test-only I/O faults at the file layer (a real disk cannot be told to fail one read at 512 KiB). Rules come from
/// code or from ORCHESTRATOR_FAULT_INJECTION, e.g. "read:B.qcow2:524288:65536:EIO:1;write:D.qcow2:0:-1:ENOSPC:-1"
/// (EINVAL too: what a file system that refuses a direct request returns; BUG throws an InvalidOperationException,
/// standing for a defect in our own code, which no real disk can produce: it exercises the crash-and-restart paths)
/// (operation, file name, offset, length or -1 for the rest of the file, error, times or -1 for always).
/// With no rule set the check costs one volatile read.
/// </summary>
public static class FaultInjection
{
    public const string EnvironmentVariable = "ORCHESTRATOR_FAULT_INJECTION";

    private static readonly object Gate = new();
    private static readonly List<Rule> Rules = Parse(Environment.GetEnvironmentVariable(EnvironmentVariable));
    private static volatile bool _active = Rules.Count > 0;

    public enum Error
    {
        Io,
        NoSpace,
        InvalidArgument,

        /// <summary>Not an I/O error at all: an exception of the kind a bug in our code throws.</summary>
        Bug,
    }

    public sealed class Rule(string operation, string fileName, long offset, long length, Error error, int times)
    {
        public string Operation { get; } = operation;
        public string FileName { get; } = fileName;
        public long Offset { get; } = offset;
        public long Length { get; } = length;
        public Error Error { get; } = error;
        public int Remaining { get; set; } = times;

        public bool Matches(string operation, string path, long offset, long length) =>
            Remaining != 0 && operation == Operation && Path.GetFileName(path) == FileName
            && offset < (Length < 0 ? long.MaxValue : Offset + Length) && offset + Math.Max(length, 1) > Offset;
    }

    public static void Add(Rule rule)
    {
        lock (Gate)
        {
            Rules.Add(rule);
            _active = true;
        }
    }

    public static void Clear()
    {
        lock (Gate)
        {
            Rules.Clear();
            _active = false;
        }
    }

    internal static void Check(string operation, string path, long offset, long length)
    {
        if (!_active)
        {
            return;
        }

        lock (Gate)
        {
            var rule = Rules.FirstOrDefault(r => r.Matches(operation, path, offset, length));
            if (rule is null)
            {
                return;
            }

            if (rule.Remaining > 0)
            {
                rule.Remaining--;
            }

            throw rule.Error switch
            {
                Error.NoSpace => new Qcow2Exception(Qcow2ErrorKind.NoSpace, "No space left on device (injected)", path, offset, operation),
                // As ImageFile reports a refused request: the errno rides on the inner IOException.
                Error.InvalidArgument => new Qcow2Exception(Qcow2ErrorKind.Io, "Invalid argument (injected)", path, offset, operation,
                    new IOException("Invalid argument (injected)", NativeMethods.EInval)),
                Error.Bug => new InvalidOperationException($"injected bug at {operation} of {Path.GetFileName(path)} offset {offset}"),
                _ => new Qcow2Exception(Qcow2ErrorKind.Io, "Input/output error (injected)", path, offset, operation),
            };
        }
    }

    private static List<Rule> Parse(string? text)
    {
        var rules = new List<Rule>();
        if (string.IsNullOrWhiteSpace(text))
        {
            return rules;
        }

        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = part.Split(':');
            if (f.Length != 6)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument,
                    $"{EnvironmentVariable}: '{part}' must be operation:file:offset:length:EIO|ENOSPC|EINVAL|BUG:times");
            }

            var error = f[4] switch
            {
                "EIO" => Error.Io,
                "ENOSPC" => Error.NoSpace,
                "EINVAL" => Error.InvalidArgument,
                "BUG" => Error.Bug,
                _ => throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument,
                    $"{EnvironmentVariable}: '{f[4]}' in '{part}' is not an error (EIO, ENOSPC, EINVAL or BUG)"),
            };
            rules.Add(new Rule(f[0], f[1], long.Parse(f[2], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture),
                error, int.Parse(f[5], CultureInfo.InvariantCulture)));
        }

        return rules;
    }
}
