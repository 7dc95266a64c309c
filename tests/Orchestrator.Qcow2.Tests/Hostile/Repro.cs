namespace Orchestrator.Qcow2.Tests.Hostile;

/// <summary>Everything needed to rebuild one mutant: the run seed, family, mutant index, base image and the exact edits.</summary>
internal sealed record Repro(int Seed, MutationFamily Family, int Index, string BaseName, IReadOnlyList<string> Steps)
{
    public override string ToString() =>
        $"seed={Seed} family={Family} mutant #{Index} base={BaseName}: [{string.Join("; ", Steps)}]";
}
