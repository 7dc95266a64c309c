using System.Collections;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.IO;

namespace Orchestrator.Qcow2.Stream;

/// <summary>
/// The copy engine of a stream: copies into the top every cluster the top lacks and some image above the base has,
/// in batches of many runs that share one allocation and one round of flushes. It never touches the header;
/// committing the new backing file is the caller's step, after the last batch. Resumable from any offset.
/// </summary>
public sealed class StreamCopier : IDisposable
{
    private readonly ImageChain _source;
    private readonly Qcow2Image _top;
    private readonly Action<Action> _underLock;
    private readonly Action _beforeIo;
    private readonly Func<bool> _yieldToGuest;
    private readonly BitArray _allocatedAbove;
    private readonly int _batchClusters;
    private readonly long _checkpointBytes;
    private readonly bool _prefetch;
    private readonly int _yieldIoBytes;
    private readonly Func<int>? _yieldIoSize;
    private long _uncommittedBytes;
    private readonly AlignedBuffer[] _buffers;
    private int _nextBuffer;
    private Task<Batch>? _pending;

    /// <param name="baseIndex">Index of the base in the chain (it and everything below stay); the chain's length for "no base".</param>
    /// <param name="checkpointBytes">
    /// Bytes copied between commits (flush, L2 updates, flush). Larger means fewer flushes and more work redone after a
    /// crash; at most one batch of data is ever lost, as leaked clusters that the next writable open gives back.
    /// </param>
    /// <param name="prefetch">Read the next batch on another thread while one is written.</param>
    /// <param name="source">
    /// Where the data is read from: a chain of the same images opened apart from <paramref name="chain"/> (a live
    /// disk's chain is shared with guest requests, whose metadata caches are not thread-safe); default the chain itself.
    /// </param>
    /// <param name="underLock">
    /// Runs the steps that touch the top's metadata (gathering, reserving, staging, committing) under the lock the
    /// guest path takes; reads and data writes run outside it. Default: no lock (nothing else uses the chain).
    /// </param>
    /// <param name="beforeIo">Called before each batch's reads and before each data write (a live disk waits for a gap in guest I/O).</param>
    /// <param name="yieldToGuest">
    /// True while guest requests are active: the copy then gathers quarter batches, reads no batch ahead, and has one
    /// device request of at most <paramref name="yieldIoBytes"/> in flight at a time, each after <paramref name="beforeIo"/>:
    /// a guest request queues behind at most that much of the copy's I/O on the device (QEMU's stream copies 512 KiB
    /// chunks one at a time, whatever the guest does).
    /// </param>
    /// <param name="yieldIoSize">
    /// When given, the yield size asked anew before each yielding step (a pacing that shrinks it while the guest waits
    /// longer); rounded down to whole clusters, at least one.
    /// </param>
    public StreamCopier(ImageChain chain, int baseIndex, int batchBytes = 64 * 1024 * 1024, long startOffset = 0,
        long checkpointBytes = 64 * 1024 * 1024, bool prefetch = true, ImageChain? source = null, Action<Action>? underLock = null,
        Action? beforeIo = null, Func<bool>? yieldToGuest = null, int yieldIoBytes = DefaultYieldIoBytes,
        Func<int>? yieldIoSize = null)
    {
        if (baseIndex < 1 || baseIndex > chain.Images.Count)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument, $"base index {baseIndex} is not below the top of a chain of {chain.Images.Count}");
        }

        _source = source ?? chain;
        if (_source.Images.Count != chain.Images.Count)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument, "the source chain does not have the same images as the chain streamed into");
        }

        _top = chain.Top;
        _underLock = underLock ?? (action => action());
        _beforeIo = beforeIo ?? (() => { });
        _yieldToGuest = yieldToGuest ?? (() => false);
        _batchClusters = Math.Max(1, batchBytes / _top.ClusterSize);
        _buffers = [new AlignedBuffer(_batchClusters * _top.ClusterSize), new AlignedBuffer(_batchClusters * _top.ClusterSize)];
        _allocatedAbove = MarkAllocatedAbove(_source, baseIndex);
        Offset = Math.Clamp(startOffset / _top.ClusterSize * _top.ClusterSize, 0, Length);
        CheckpointOffset = Offset;
        _checkpointBytes = Math.Max(checkpointBytes, 1);
        _prefetch = prefetch;
        _yieldIoBytes = WholeClusters(yieldIoBytes);
        _yieldIoSize = yieldIoSize;
    }

    /// <summary>The largest device request of a yielding step now.</summary>
    private int YieldIoBytes => _yieldIoSize is null ? _yieldIoBytes : WholeClusters(_yieldIoSize());

    private int WholeClusters(int bytes) => Math.Max(_top.ClusterSize, bytes / _top.ClusterSize * _top.ClusterSize);

    /// <summary>The largest device request of a copy that yields to the guest.</summary>
    public const int DefaultYieldIoBytes = 256 * 1024;

    public long Length => _top.VirtualSize;

    /// <summary>Clusters the next batch may take: a quarter of the batch while the guest is active.</summary>
    private int BatchClusters => _yieldToGuest() ? Math.Max(1, _batchClusters / 4) : _batchClusters;

    /// <summary>The most the next step copies (what a rate limit accounts for it).</summary>
    public long NextStepBytes => (long)BatchClusters * _top.ClusterSize;

    /// <summary>Address space scanned so far (QEMU's job offset): what is below it is copied, durable or not yet.</summary>
    public long Offset { get; private set; }

    /// <summary>Everything below this offset is copied, committed and flushed: where a resumed stream may start.</summary>
    public long CheckpointOffset { get; private set; }

    public long BytesCopied { get; private set; }

    public bool Done => Offset >= Length;

    public StreamProgress Progress => new(Offset, Length, BytesCopied);

    /// <summary>Top clusters that some image strictly above the base allocates (frozen during a job, so computed once).</summary>
    private static BitArray MarkAllocatedAbove(ImageChain chain, int baseIndex)
    {
        var cs = chain.Top.ClusterSize;
        var clusters = (chain.VirtualSize + cs - 1) / cs;
        var marks = new BitArray(checked((int)clusters));
        for (var layer = 1; layer < baseIndex; layer++)
        {
            var image = chain.Images[layer];
            var end = Math.Min(image.VirtualSize, chain.VirtualSize);
            for (var offset = 0L; offset < end;)
            {
                var extent = image.GetExtent(offset, end - offset);
                if (extent.IsAllocated)
                {
                    for (var c = offset / cs; c <= (offset + extent.Length - 1) / cs; c++)
                    {
                        marks[(int)c] = true;
                    }
                }

                offset += extent.Length;
            }

            // Past the end of a shorter image above the base the guest reads zeros (QEMU counts that range as
            // allocated zeros); once the top backs onto the base, those zeros must be in the top.
            for (var c = end / cs; c < clusters && end < chain.VirtualSize; c++)
            {
                marks[(int)c] = true;
            }
        }

        return marks;
    }

    /// <summary>
    /// Copies one batch; returns false when the whole range has been scanned. The next batch is read (from the source
    /// chain, on another thread) while this one is written. Only the metadata steps hold the lock: a guest request
    /// waits for an allocation or an L2 update, never for the batch's reads or data write.
    /// </summary>
    public bool Step()
    {
        if (Done)
        {
            return false;
        }

        // A failed batch leaves no read-ahead behind: a retry (or a skip) starts again from this batch. With nothing
        // read ahead (the first batch, or after a yield) the batch is read here: a hop to another thread would only add
        // its wake-up to the wait, a fixed cost that dominates a small stream.
        var read = _pending ?? StartRead(Offset, background: false);
        _pending = null;
        var current = read.GetAwaiter().GetResult();
        // While the guest is active the next batch is not read ahead: the copy keeps one request on the device.
        _pending = _prefetch && current.ScannedTo < Length && !_yieldToGuest() ? StartRead(current.ScannedTo, background: true) : null;
        if (current.Runs.Count > 0)
        {
            try
            {
                var copied = CopyBatch(current);
                BytesCopied += copied;
                _uncommittedBytes += copied;
            }
            catch
            {
                DropReadAhead();
                throw;
            }
        }

        Offset = current.ScannedTo;
        if (_uncommittedBytes >= _checkpointBytes || Done)
        {
            Checkpoint();
        }

        return !Done;
    }

    /// <summary>
    /// Reserve (locked; clusters the guest wrote since the batch was gathered drop out), write the data (unlocked:
    /// nothing references the new clusters yet), stage (locked). A guest write after the reservation still wins at
    /// the commit, which frees the copy's cluster instead (QEMU's copy-on-read rule).
    /// </summary>
    private long CopyBatch(Batch batch)
    {
        CopyReservation? reservation = null;
        _underLock(() => reservation = _top.ReserveCopy(batch.Runs, batch.Zero));
        try
        {
            _top.WriteReserved(reservation!, batch.Buffer.Span, _yieldToGuest() ? YieldIoBytes : int.MaxValue, _beforeIo);
        }
        catch
        {
            _underLock(() => _top.AbandonReserved(reservation!));
            throw;
        }

        _underLock(() => _top.StageReserved(reservation!));
        return (long)reservation!.Count * _top.ClusterSize;
    }

    /// <summary>
    /// Skips the next batch without copying it (on-error ignore: the job goes on and completes with the error).
    /// The skipped clusters stay unallocated in the top, so the job must not commit a new backing file afterwards.
    /// </summary>
    public void SkipBatch()
    {
        DropReadAhead();
        var scannedTo = Offset;
        _underLock(() => GatherBatch(Offset, out scannedTo));
        Offset = scannedTo;
    }

    /// <summary>Waits out a read-ahead in flight (its buffer is reused next) and forgets it, error or not.</summary>
    private void DropReadAhead()
    {
        try
        {
            _pending?.Wait();
        }
        catch (AggregateException)
        {
            // The batch is read again (or skipped) from the current offset; its error, if real, comes back then.
        }

        _pending = null;
    }

    /// <summary>
    /// Makes the copied data and refcounts durable without touching metadata, so it needs no lock: a live stream calls
    /// it before <see cref="Checkpoint"/>, whose own flush (under the disk's lock) then has almost nothing left to write.
    /// </summary>
    public void FlushData() => _top.Flush();

    /// <summary>
    /// Commits what was copied and flushes it (under the lock): <see cref="CheckpointOffset"/> catches up with
    /// <see cref="Offset"/>.
    /// </summary>
    public void Checkpoint()
    {
        _underLock(() =>
        {
            _top.CommitStaged();
            _top.Flush();
        });
        _uncommittedBytes = 0;
        CheckpointOffset = Offset;
    }

    public void Run(IProgress<StreamProgress>? progress = null, CancellationToken cancel = default)
    {
        progress?.Report(Progress);
        while (Step())
        {
            progress?.Report(Progress);
            if (cancel.IsCancellationRequested)
            {
                // Keep what was copied: a later stream skips it.
                Checkpoint();
                cancel.ThrowIfCancellationRequested();
            }
        }

        progress?.Report(Progress);
    }

    private sealed record Batch(List<ClusterRun> Runs, int Clusters, AlignedBuffer Buffer, bool[] Zero, long ScannedTo);

    private Task<Batch> StartRead(long from, bool background)
    {
        List<ClusterRun> runs = [];
        var scannedTo = from;
        _underLock(() => runs = GatherBatch(from, out scannedTo));
        var buffer = _buffers[_nextBuffer];
        _nextBuffer ^= 1;
        if (runs.Count == 0)
        {
            return Task.FromResult(new Batch(runs, 0, buffer, [], scannedTo));
        }

        return background ? Task.Run(() => ReadRuns(runs, buffer, scannedTo)) : Task.FromResult(ReadRuns(runs, buffer, scannedTo));
    }

    /// <summary>Runs of top clusters to copy, from <see cref="Offset"/>, up to one batch of clusters.</summary>
    private List<ClusterRun> GatherBatch(long from, out long scannedTo)
    {
        var cs = _top.ClusterSize;
        var runs = new List<ClusterRun>();
        var taken = 0;
        var offset = from;
        var batchClusters = BatchClusters;
        while (offset < Length && taken < batchClusters)
        {
            var extent = _top.GetExtent(offset, Length - offset);
            if (extent.IsAllocated)
            {
                offset += extent.Length;
                continue;
            }

            var first = offset / cs;
            var last = (offset + extent.Length - 1) / cs;
            var c = first;
            while (c <= last && taken < batchClusters)
            {
                if (!_allocatedAbove[(int)c])
                {
                    c++;
                    continue;
                }

                var start = c;
                while (c <= last && _allocatedAbove[(int)c] && taken < batchClusters)
                {
                    c++;
                    taken++;
                }

                runs.Add(new ClusterRun(start, (int)(c - start)));
            }

            offset = Math.Min(c * cs, Length);
        }

        scannedTo = offset;
        return runs;
    }

    /// <summary>Reads planned in parallel: random extents of the backing files at queue depth 1 leave the disk idle.</summary>
    private const int ParallelReads = 8;

    private Batch ReadRuns(List<ClusterRun> runs, AlignedBuffer buffer, long scannedTo)
    {
        var cs = _top.ClusterSize;
        var data = buffer.Span;
        var zero = new bool[runs.Sum(r => r.Count)];
        var reads = new List<RawRead>();
        var position = 0;
        foreach (var run in runs)
        {
            var start = run.FirstCluster * cs;
            var bytes = (int)Math.Min((long)run.Count * cs, Length - start);
            var target = data.Slice(position * cs, run.Count * cs);
            _source.PlanRead(1, start, target[..bytes], position * cs, reads);
            target[bytes..].Clear();
            position += run.Count;
        }

        if (_yieldToGuest())
        {
            ReadYieldingToGuest(reads, buffer);
        }
        else
        {
            _beforeIo();
            ExecuteReads(reads, buffer, ParallelReads);
        }

        for (var i = 0; i < position; i++)
        {
            zero[i] = data.Slice(i * cs, cs).IndexOfAnyExcept((byte)0) < 0;
        }

        return new Batch(runs, position, buffer, zero, scannedTo);
    }

    /// <summary>One read of at most the yield size at a time, each in a gap between guest requests.</summary>
    private void ReadYieldingToGuest(List<RawRead> reads, AlignedBuffer buffer)
    {
        var pieceBytes = YieldIoBytes;
        foreach (var piece in reads.SelectMany(r => r.Pieces(pieceBytes)))
        {
            _beforeIo();
            piece.Image.ReadHost(buffer.Span.Slice(piece.BufferOffset, piece.Length), piece.HostOffset);
        }
    }

    /// <summary>Aligned reads run in parallel (pread on one descriptor is safe); the rest, which may need a bounce buffer, one by one.</summary>
    private static void ExecuteReads(List<RawRead> reads, AlignedBuffer buffer, int parallel)
    {
        var aligned = reads.Where(r => r.IsAligned).ToList();
        if (aligned.Count == 1)
        {
            // One read needs no workers (a small stream is often one run).
            aligned[0].Image.ReadHost(buffer.Span.Slice(aligned[0].BufferOffset, aligned[0].Length), aligned[0].HostOffset);
            aligned.Clear();
        }

        try
        {
            Parallel.ForEach(aligned, new ParallelOptions { MaxDegreeOfParallelism = parallel },
                r => r.Image.ReadHost(buffer.Span.Slice(r.BufferOffset, r.Length), r.HostOffset));
        }
        catch (AggregateException e) when (e.InnerExceptions.FirstOrDefault() is Qcow2Exception first)
        {
            // Callers decide on the I/O error itself (retry, on-error policy), not on the parallel wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }

        foreach (var r in reads.Where(r => !r.IsAligned))
        {
            r.Image.ReadHost(buffer.Span.Slice(r.BufferOffset, r.Length), r.HostOffset);
        }
    }

    public void Dispose()
    {
        // A read still in flight must finish before its buffer is freed.
        DropReadAhead();
        _buffers[0].Dispose();
        _buffers[1].Dispose();
    }
}
