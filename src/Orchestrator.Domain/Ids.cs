namespace Orchestrator.Domain;

/// <summary>A disk: one chain of images whose active image the guest writes.</summary>
public sealed record DiskId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>A block job (QEMU's job-id; defaults to the device name).</summary>
public sealed record JobId(string Value)
{
    public override string ToString() => Value;
}
