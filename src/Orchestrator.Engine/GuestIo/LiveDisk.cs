using Orchestrator.Engine.GuestIo;
using Orchestrator.Engine.Pacing;
using Orchestrator.Engine.Storage;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.IO;
using Orchestrator.Qcow2.Stream;

namespace Orchestrator.Engine;

/// <summary>
/// The guest I/O path of one disk: the open chain of its active image and the locks that order guest requests, a
/// copy's metadata steps and snapshots. Guest calls come from any thread, many at once, without a mailbox round trip.
/// Three locks, always taken in this order:
/// <list type="number">
/// <item><c>_chainGate</c> (reader-writer): every guest request holds it shared; a snapshot, a reopen after a commit
/// and disposal hold it exclusively, so no request uses an image while it is switched or closed.</item>
/// <item><c>_ranges</c> (cluster range lock): reads shared, writes exclusive, on the clusters they touch, so writes
/// wait only for requests on the same clusters and a read never sees a cluster change under it.</item>
/// <item><c>_metadata</c> (fair lock): the qcow2 metadata (L1/L2 tables, refcounts, allocation, staged updates) and
/// the image files' bounce buffers. Guest requests resolve where their data is under it, and do the data I/O outside
/// it when the data is already allocated (reads, overwrites); allocating writes, zeroes and discards run under it.</item>
/// </list>
/// A copy reads its source and writes its data outside the locks, into clusters nothing references yet; under the
/// metadata lock it reserves them (leaving out clusters the guest has written) and stages them, and the commit applies
/// each one only if the guest has not written that cluster meanwhile (QEMU's copy-on-read rule). Guest requests thus
/// wait for metadata updates, never for a copy's data I/O, and never for each other's data I/O.
/// </summary>
public sealed class LiveDisk : IDisposable
{
    private readonly ReaderWriterLockSlim _chainGate = new(LockRecursionPolicy.NoRecursion);
    private readonly ClusterRangeLock _ranges = new();
    private readonly FairLock _metadata = new();
    private readonly EngineSettings _settings;
    private ImageChain _chain;
    private long _virtualSize;
    private readonly GuestActivity _guest = new();

    /// <summary>True while a guest request is in flight or ended less than <paramref name="window"/> ago.</summary>
    public bool GuestActiveWithin(TimeSpan window) => _guest.ActiveWithin(window);

    /// <summary>Before a copy's data I/O: waits (at most <paramref name="limit"/>) for a gap between guest requests.</summary>
    public void WaitForGuestGap(TimeSpan limit) => _guest.WaitForGap(limit);

    /// <summary>What the guest waits now: its recent latency against its own service time, and requests queued on the lock.</summary>
    internal GuestPressure GuestPressure() => _guest.Pressure(_metadata.Queued);

    /// <summary>Opens the chain confined to the storage roots and locked as <paramref name="settings"/> say.</summary>
    public LiveDisk(string activePath, EngineSettings settings)
    {
        _settings = settings;
        _chain = OpenChain(activePath);
        _virtualSize = _chain.VirtualSize;
    }

    public string ActivePath
    {
        get
        {
            using (_metadata.Enter())
            {
                return _chain.DisplayNames[0];
            }
        }
    }

    /// <summary>The guest disk's size; fixed while the disk is open, so the actor reads it without waiting for the lock.</summary>
    public long VirtualSize => Volatile.Read(ref _virtualSize);

    /// <summary>The chain's image paths, active image first.</summary>
    public IReadOnlyList<string> ChainPaths
    {
        get
        {
            using (_metadata.Enter())
            {
                return _chain.DisplayNames.Select(Path.GetFullPath).ToList();
            }
        }
    }

    public void Read(long offset, Span<byte> buffer)
    {
        using (_guest.Begin())
        using (new SharedChain(_chainGate))
        {
            new GuestRead(_chain, _ranges, _metadata).Run(offset, buffer);
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        using (_guest.Begin())
        using (new SharedChain(_chainGate))
        {
            new GuestWrite(_chain, _ranges, _metadata).Run(offset, data);
        }
    }

    /// <summary>
    /// Makes the range read as zeroes (zero clusters on version 3 for whole clusters, zero data otherwise). With
    /// <paramref name="fastOnly"/>, does nothing and returns false unless it is metadata only: version 3 and whole clusters.
    /// </summary>
    public bool WriteZeroes(long offset, long length, bool fastOnly = false)
    {
        using (_guest.Begin())
        using (new SharedChain(_chainGate))
        {
            var chain = _chain;
            GuestBounds.RequireInside(chain, offset, length, "write zeroes");
            if (fastOnly && !GuestZeroes.IsFast(chain, offset, length))
            {
                return false;
            }

            using (_ranges.Enter(offset, length, chain.Top.ClusterSize, exclusive: true))
            using (_metadata.Enter())
            {
                chain.WriteZeroes(offset, length);
            }

            return true;
        }
    }

    /// <summary>
    /// A guest discard (NBD TRIM): the whole clusters inside the range become zero clusters on version 3, as QEMU's
    /// qcow2 discard does for an image with a backing file (the range must not show the backing file's data again),
    /// and their host clusters are freed for reuse (after the new entries are on disk). Partial clusters, and version 2
    /// images (no zero clusters), are left as they are: a discard is advisory.
    /// </summary>
    public void Discard(long offset, long length)
    {
        using (_guest.Begin())
        using (new SharedChain(_chainGate))
        {
            var chain = _chain;
            GuestBounds.RequireInside(chain, offset, length, "discard");
            if (GuestZeroes.WholeClusters(chain, offset, length) is not var (start, count) || count == 0)
            {
                return;
            }

            using (_ranges.Enter(start, count, chain.Top.ClusterSize, exclusive: true))
            using (_metadata.Enter())
            {
                chain.Discard(start, count);
            }
        }
    }

    /// <summary>
    /// Makes every write completed so far durable: the deferred metadata is committed under the metadata lock, then
    /// the file is synced outside it, so requests go on while the device flushes.
    /// </summary>
    public void Flush()
    {
        using (_guest.Begin())
        using (new SharedChain(_chainGate))
        {
            var top = _chain.Top;
            using (_metadata.Enter())
            {
                top.CommitStaged();
            }

            top.Flush();
        }
    }

    /// <summary>
    /// How the chain maps [<paramref name="offset"/>, +<paramref name="length"/>): at most <paramref name="maxRuns"/>
    /// runs, in order, each data (allocated in some layer) or zero (zero clusters, or unallocated down to the bottom).
    /// </summary>
    public IReadOnlyList<(long Length, bool Data)> Allocation(long offset, long length, int maxRuns)
    {
        using (new SharedChain(_chainGate))
        using (_metadata.Enter())
        {
            var chain = _chain;
            GuestBounds.RequireInside(chain, offset, length, "block status");
            return GuestAllocation.Runs(chain, offset, length, maxRuns);
        }
    }

    /// <summary>
    /// Live external snapshot: under the lock (no guest request in flight), flush the active image, create the overlay
    /// backed by it, and switch the guest to it. A request after this call goes to the new image; none is lost.
    /// </summary>
    public void Snapshot(string newPath)
    {
        using (new ExclusiveChain(_chainGate))
        using (_metadata.Enter())
        {
            _chain.Flush();
            var active = _chain.DisplayNames[0];
            var options = new ImageCreateOptions
            {
                Size = _chain.VirtualSize,
                ClusterSize = _chain.Top.ClusterSize,
                BackingFile = BackingPath.RelativeName(newPath, active),
                BackingFormat = "qcow2",
                Cache = _settings.Cache,
            }.Confined(_settings);
            Qcow2Image.Create(newPath, options).Dispose();
            try
            {
                SwitchTo(newPath);
            }
            catch
            {
                // Refused (a chain name now leads outside the roots, a lock): the guest stays where it was, and the
                // overlay nothing uses goes again.
                File.Delete(newPath);
                throw;
            }
        }
    }

    /// <summary>
    /// After a commit removed images from the chain: the images below the active one are opened again, outside the
    /// lock, from the backing file its header names now; under the lock the guest switches to them. The active image
    /// itself stays open: a writable reopen would check every refcount under the lock, and the guest would wait
    /// for it (seconds on a large disk).
    /// </summary>
    public void Reopen()
    {
        while (true)
        {
            var current = Volatile.Read(ref _chain);
            var next = current.ReopenedBelowTop(_settings.ChainOptions(writableTop: true));
            using (new ExclusiveChain(_chainGate))
            using (_metadata.Enter())
            {
                if (ReferenceEquals(_chain, current))
                {
                    _chain = next;
                    current.DisposeBelowTop();
                    return;
                }
            }

            // A snapshot switched chains meanwhile: drop what was opened and start from the new chain.
            next.DisposeBelowTop();
        }
    }

    /// <summary>
    /// Commits and flushes the old chain first: its deferred metadata must be on disk before another handle opens the
    /// same file (whose writable open checks and repairs refcounts). Then opens the new chain before closing the old
    /// one, so a failure leaves the guest on the old chain. Caller holds the chain gate exclusively and the metadata lock.
    /// </summary>
    private void SwitchTo(string activePath)
    {
        _chain.Flush();
        var next = OpenChain(activePath);
        _chain.Dispose();
        _chain = next;
        Volatile.Write(ref _virtualSize, next.VirtualSize);
    }

    /// <summary>
    /// Runs <paramref name="action"/> with the chain under the metadata lock (copy steps, commits). Guest data I/O on
    /// clusters already resolved goes on meanwhile: the action may change metadata, never move or free guest data.
    /// </summary>
    public T WithChain<T>(Func<ImageChain, T> action)
    {
        using (_metadata.Enter())
        {
            return action(_chain);
        }
    }

    /// <summary>
    /// Runs <paramref name="step"/> under the metadata lock again and again, letting go in between (the lock is fair:
    /// a waiting guest request goes first), until it returns true. A long metadata read (the allocation summary of a
    /// large disk) then delays the guest by one step, not by the whole read. Returns false, without finishing, if the
    /// chain was switched between two steps (a snapshot, a commit): the images the steps were reading are closed.
    /// </summary>
    public bool InSlices(Func<ImageChain, bool> step)
    {
        var chain = Volatile.Read(ref _chain);
        while (true)
        {
            using (_metadata.Enter())
            {
                if (!ReferenceEquals(_chain, chain))
                {
                    return false;
                }

                if (step(chain))
                {
                    return true;
                }
            }
        }
    }

    /// <summary>Runs <paramref name="action"/> under the metadata lock (a copy's metadata steps).</summary>
    public void WithLock(Action action)
    {
        using (_metadata.Enter())
        {
            action();
        }
    }

    private ImageChain OpenChain(string activePath) => ImageChain.Open(activePath, _settings.ChainOptions(writableTop: true));

    public void Dispose()
    {
        using (new ExclusiveChain(_chainGate))
        using (_metadata.Enter())
        {
            _chain.Dispose();
        }
    }
}
