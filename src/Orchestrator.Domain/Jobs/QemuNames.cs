namespace Orchestrator.Domain.Jobs;

/// <summary>The lower-case, hyphenated names QMP uses on the wire for our enums.</summary>
public static class QemuNames
{
    public static string Of(JobStatus status) => status.ToString().ToLowerInvariant();

    public static string Of(JobVerb verb) => verb == JobVerb.SetSpeed ? "set-speed" : verb.ToString().ToLowerInvariant();

    public static string Of(JobType type) => type == JobType.BlockCopy ? "block-copy" : "stream";

    public static string Of(OnErrorPolicy policy) => policy.ToString().ToLowerInvariant();

    public static string Of(OnErrorAction action) => action.ToString().ToLowerInvariant();

    public static string Of(IoOperation operation) => operation.ToString().ToLowerInvariant();

    public static string Of(IoStatus status) => status.ToString().ToLowerInvariant();

    public static bool TryParse(string text, out OnErrorPolicy policy) =>
        Enum.TryParse(text, ignoreCase: true, out policy) && text.All(char.IsLetter);
}
