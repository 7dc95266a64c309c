using System.Diagnostics;
using Orchestrator.Engine.Observability;
using Orchestrator.Nbd;

namespace Orchestrator.Node.Exports;

/// <summary>
/// An export that counts its guest requests (<see cref="EngineMetrics.GuestRequest"/>: operations, bytes and latency
/// by disk and operation) and their failures (<see cref="EngineMetrics.Error"/>, kind guest-OPERATION). The latency is
/// the export's own time, gate and chain locks included: what the guest waits for beyond the socket.
/// Block status is a query, not guest I/O, and passes through uncounted.
/// </summary>
internal sealed class MeteredExport(INbdExport inner) : INbdExport
{
    public string Name => inner.Name;

    public long Size => inner.Size;

    public bool IsReadOnly => inner.IsReadOnly;

    public void Read(long offset, Span<byte> buffer)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            inner.Read(offset, buffer);
        }
        catch
        {
            EngineMetrics.Error("guest-read");
            throw;
        }

        Record("read", buffer.Length, start);
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            inner.Write(offset, data);
        }
        catch
        {
            EngineMetrics.Error("guest-write");
            throw;
        }

        Record("write", data.Length, start);
    }

    public bool WriteZeroes(long offset, long length, bool fastOnly)
    {
        var start = Stopwatch.GetTimestamp();
        bool zeroed;
        try
        {
            zeroed = inner.WriteZeroes(offset, length, fastOnly);
        }
        catch
        {
            EngineMetrics.Error("guest-zero");
            throw;
        }

        // A fast-zero request the export declined changed nothing: counted as an operation with no bytes.
        Record("zero", zeroed ? length : 0, start);
        return zeroed;
    }

    public void Trim(long offset, long length)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            inner.Trim(offset, length);
        }
        catch
        {
            EngineMetrics.Error("guest-trim");
            throw;
        }

        Record("trim", length, start);
    }

    public void Flush()
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            inner.Flush();
        }
        catch
        {
            EngineMetrics.Error("guest-flush");
            throw;
        }

        Record("flush", 0, start);
    }

    public IReadOnlyList<NbdExtent> BlockStatus(long offset, long length, int maxExtents) => inner.BlockStatus(offset, length, maxExtents);

    private void Record(string operation, long bytes, long start) =>
        EngineMetrics.GuestRequest(inner.Name, operation, bytes, Stopwatch.GetElapsedTime(start));
}
