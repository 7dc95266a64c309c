namespace Orchestrator.Nbd;

/// <summary>Resolves export names for the handshake (the server asks once per NBD_OPT_INFO, NBD_OPT_GO or NBD_OPT_EXPORT_NAME).</summary>
public interface INbdExportProvider
{
    /// <summary>The export called <paramref name="name"/>, or null when there is none.</summary>
    ValueTask<INbdExport?> FindAsync(string name, CancellationToken cancel);

    /// <summary>Every export's name, for NBD_OPT_LIST.</summary>
    ValueTask<IReadOnlyList<string>> ListAsync(CancellationToken cancel);
}
