using Orchestrator.Qcow2;
using Orchestrator.Engine.Storage;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.IO;
using Orchestrator.Qcow2.Stream;

namespace Orchestrator.Engine;

/// <summary>
/// The guest I/O path of one disk: the open chain of its active image and the lock that orders guest requests,
/// a copy's metadata steps and snapshots. Guest calls come from any thread without a mailbox round trip. A copy reads
/// its source and writes its data outside the lock, into clusters nothing references yet; under the lock it reserves
/// them (leaving out clusters the guest has written) and stages them, and the commit applies each one only if the
/// guest has not written that cluster meanwhile (QEMU's copy-on-read rule). Guest requests thus wait for metadata
/// updates, never for a copy's data I/O.
/// </summary>
public sealed class LiveDisk : IDisposable
{
    private readonly FairLock _gate = new();
    private readonly EngineSettings _settings;
    private ImageChain _chain;
    private long _virtualSize;
    private readonly GuestActivity _guest = new();

    /// <summary>True while a guest request is in flight or ended less than <paramref name="window"/> ago.</summary>
    public bool GuestActiveWithin(TimeSpan window) => _guest.ActiveWithin(window);

    /// <summary>Before a copy's data I/O: waits (at most <paramref name="limit"/>) for a gap between guest requests.</summary>
    public void WaitForGuestGap(TimeSpan limit) => _guest.WaitForGap(limit);

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
            using (_gate.Enter())
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
            using (_gate.Enter())
            {
                return _chain.DisplayNames.Select(Path.GetFullPath).ToList();
            }
        }
    }

    public void Read(long offset, Span<byte> buffer)
    {
        using (_guest.Begin())
        using (_gate.Enter())
        {
            _chain.Read(offset, buffer);
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        using (_guest.Begin())
        using (_gate.Enter())
        {
            _chain.Write(offset, data);
        }
    }

    public void WriteZeroes(long offset, long length)
    {
        using (_guest.Begin())
        using (_gate.Enter())
        {
            _chain.WriteZeroes(offset, length);
        }
    }

    public void Flush()
    {
        using (_guest.Begin())
        using (_gate.Enter())
        {
            _chain.Flush();
        }
    }

    /// <summary>
    /// Live external snapshot: under the lock (no guest request in flight), flush the active image, create the overlay
    /// backed by it, and switch the guest to it. A request after this call goes to the new image; none is lost.
    /// </summary>
    public void Snapshot(string newPath)
    {
        using (_gate.Enter())
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
            using (_gate.Enter())
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
    /// one, so a failure leaves the guest on the old chain. Caller holds the lock.
    /// </summary>
    private void SwitchTo(string activePath)
    {
        _chain.Flush();
        var next = OpenChain(activePath);
        _chain.Dispose();
        _chain = next;
        Volatile.Write(ref _virtualSize, next.VirtualSize);
    }

    /// <summary>Runs <paramref name="action"/> with the chain under the lock (copy steps, commits).</summary>
    public T WithChain<T>(Func<ImageChain, T> action)
    {
        using (_gate.Enter())
        {
            return action(_chain);
        }
    }

    /// <summary>Runs <paramref name="action"/> under the lock (a copy's metadata steps).</summary>
    public void WithLock(Action action)
    {
        using (_gate.Enter())
        {
            action();
        }
    }

    private ImageChain OpenChain(string activePath) => ImageChain.Open(activePath, _settings.ChainOptions(writableTop: true));

    public void Dispose()
    {
        using (_gate.Enter())
        {
            _chain.Dispose();
        }
    }
}
