namespace Orchestrator.Nbd;

/// <summary>Thrown by an <see cref="INbdExport"/> to choose the error value of the reply (ENOSPC, ESHUTDOWN, ...).</summary>
public sealed class NbdExportException : Exception
{
    public NbdExportException(NbdError error, string message, Exception? inner = null)
        : base(message, inner)
    {
        if (error == NbdError.None)
        {
            throw new ArgumentOutOfRangeException(nameof(error), "an export failure needs an error value");
        }

        Error = error;
    }

    public NbdError Error { get; }
}
