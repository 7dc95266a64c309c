namespace Orchestrator.Testing;

/// <summary>A chain made by <see cref="RandomChainBuilder"/>; <see cref="ImagePaths"/> are absolute, bottom first.</summary>
public sealed record BuiltChain(string Directory, IReadOnlyList<string> ImagePaths, int Seed, ChainSpec Spec)
{
    /// <summary>File name of the reference written by <see cref="WriteReferenceRaw()"/>.</summary>
    public const string ReferenceFileName = "reference.raw";

    public string Top => ImagePaths[^1];

    public string Bottom => ImagePaths[0];

    /// <summary>Writes the guest-visible content of <see cref="Top"/> as raw into the chain folder; returns its path.</summary>
    public string WriteReferenceRaw() => WriteReferenceRaw(Path.Combine(Directory, ReferenceFileName));

    /// <summary>Writes the guest-visible content of <see cref="Top"/> as raw to <paramref name="destination"/>.</summary>
    public string WriteReferenceRaw(string destination)
    {
        try
        {
            QemuTools.ConvertToRaw(Top, destination);
        }
        catch (ProcessFailedException e)
        {
            throw new InvalidOperationException($"Writing the reference raw failed for {Describe()}", e);
        }

        return destination;
    }

    /// <summary>One line to put in assertion messages: seed, spec and folder.</summary>
    public string Describe() => $"seed={Seed} {Spec} in {Directory}";

    public override string ToString() => $"{Describe()}: {string.Join(" <- ", ImagePaths.Select(Path.GetFileName))}";
}
