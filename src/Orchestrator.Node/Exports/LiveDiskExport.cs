using Orchestrator.Engine;
using Orchestrator.Nbd;
using Orchestrator.Qcow2;

namespace Orchestrator.Node.Exports;

/// <summary>
/// A registered disk's guest I/O path as an NBD export. The <see cref="LiveDisk"/> keeps working across snapshots
/// and stream commits (it switches images inside), so a connection holds it for its whole life. A full disk is
/// reported as ENOSPC; every other failure becomes EIO.
/// </summary>
internal sealed class LiveDiskExport(string name, LiveDisk disk, ExportGate gate) : INbdExport
{
    public string Name => name;

    public long Size => disk.VirtualSize;

    public void Read(long offset, Span<byte> buffer)
    {
        using (gate.Enter(name))
        {
            disk.Read(offset, buffer);
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        using (gate.Enter(name))
        {
            try
            {
                disk.Write(offset, data);
            }
            catch (Qcow2Exception e) when (e.Kind == Qcow2ErrorKind.NoSpace)
            {
                throw NoSpace(e);
            }
        }
    }

    public void WriteZeroes(long offset, long length)
    {
        using (gate.Enter(name))
        {
            try
            {
                disk.WriteZeroes(offset, length);
            }
            catch (Qcow2Exception e) when (e.Kind == Qcow2ErrorKind.NoSpace)
            {
                throw NoSpace(e);
            }
        }
    }

    public void Flush()
    {
        using (gate.Enter(name))
        {
            try
            {
                disk.Flush();
            }
            catch (Qcow2Exception e) when (e.Kind == Qcow2ErrorKind.NoSpace)
            {
                // A flush commits deferred metadata, which may allocate.
                throw NoSpace(e);
            }
        }
    }

    private NbdExportException NoSpace(Qcow2Exception e) => new(NbdError.NoSpace, $"disk '{name}': {e.Message}", e);
}
