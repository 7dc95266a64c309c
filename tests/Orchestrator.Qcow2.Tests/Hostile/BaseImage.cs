namespace Orchestrator.Qcow2.Tests.Hostile;

/// <summary>
/// A small valid image (or chain) made by qemu-img and qemu-io: the files by name, which one the chain is
/// opened from, and which one mutations are applied to.
/// </summary>
internal sealed record BaseImage(string Name, IReadOnlyDictionary<string, byte[]> Files, string TopFile, string TargetFile)
{
    public byte[] Target => Files[TargetFile];

    public ImageLayout Layout { get; } = ImageLayout.Read(Files[TargetFile]);

    public override string ToString() => $"{Name} (mutating {TargetFile}, chain opened from {TopFile})";
}
