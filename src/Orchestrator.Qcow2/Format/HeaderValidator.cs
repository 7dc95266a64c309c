namespace Orchestrator.Qcow2.Format;

/// <summary>Turns failed header invariants into <see cref="Qcow2Exception"/>s that name the file.</summary>
internal readonly struct HeaderValidator(string path)
{
    public void Require(bool condition, Qcow2ErrorKind kind, string message)
    {
        if (!condition)
        {
            throw new Qcow2Exception(kind, message, path, operation: "reading the header");
        }
    }
}
