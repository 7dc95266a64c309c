using Orchestrator.Engine;
using Orchestrator.Nbd;
using Orchestrator.Qcow2;

namespace Orchestrator.Node.Exports;

/// <summary>
/// A registered disk's guest I/O path as an NBD export. The <see cref="LiveDisk"/> keeps working across snapshots
/// and stream commits (it switches images inside), so a connection holds it for its whole life; it takes requests
/// from any number of threads at once. A full disk is reported as ENOSPC; every other failure becomes EIO.
/// </summary>
internal sealed class LiveDiskExport(string name, LiveDisk disk, ExportGate gate, bool readOnly) : INbdExport
{
    public string Name => name;

    public long Size => disk.VirtualSize;

    public bool IsReadOnly => readOnly;

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

    public bool WriteZeroes(long offset, long length, bool fastOnly)
    {
        using (gate.Enter(name))
        {
            try
            {
                return disk.WriteZeroes(offset, length, fastOnly);
            }
            catch (Qcow2Exception e) when (e.Kind == Qcow2ErrorKind.NoSpace)
            {
                throw NoSpace(e);
            }
        }
    }

    public void Trim(long offset, long length)
    {
        using (gate.Enter(name))
        {
            try
            {
                disk.Discard(offset, length);
            }
            catch (Qcow2Exception e) when (e.Kind == Qcow2ErrorKind.NoSpace)
            {
                // Zero clusters may need a new L2 table.
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

    /// <summary>base:allocation: data where some layer of the chain holds data, hole and zero everywhere else.</summary>
    public IReadOnlyList<NbdExtent> BlockStatus(long offset, long length, int maxExtents)
    {
        using (gate.Enter(name))
        {
            return [.. disk.Allocation(offset, length, maxExtents)
                .Select(run => new NbdExtent(run.Length, run.Data ? NbdExtentFlags.Data : NbdExtentFlags.Hole | NbdExtentFlags.Zero))];
        }
    }

    private NbdExportException NoSpace(Qcow2Exception e) => new(NbdError.NoSpace, $"disk '{name}': {e.Message}", e);
}
