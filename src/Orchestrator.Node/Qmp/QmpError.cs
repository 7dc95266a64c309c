namespace Orchestrator.Node.Qmp;

/// <summary>A QMP error reply: QEMU's error class (GenericError, CommandNotFound, DeviceNotActive, DeviceNotFound) and its text.</summary>
public sealed class QmpError(string errorClass, string description) : Exception(description)
{
    public const string Generic = "GenericError";
    public const string CommandNotFound = "CommandNotFound";
    public const string DeviceNotActive = "DeviceNotActive";
    public const string DeviceNotFound = "DeviceNotFound";

    public string Class { get; } = errorClass;

    public static QmpError GenericError(string description) => new(Generic, description);
}
