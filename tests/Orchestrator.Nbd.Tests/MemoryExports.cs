namespace Orchestrator.Nbd.Tests;

/// <summary>A fixed set of exports by name.</summary>
internal sealed class MemoryExports(params MemoryExport[] exports) : INbdExportProvider
{
    public ValueTask<INbdExport?> FindAsync(string name, CancellationToken cancel) =>
        ValueTask.FromResult<INbdExport?>(exports.FirstOrDefault(e => e.Name == name));

    public ValueTask<IReadOnlyList<string>> ListAsync(CancellationToken cancel) =>
        ValueTask.FromResult<IReadOnlyList<string>>([.. exports.Select(e => e.Name)]);
}
