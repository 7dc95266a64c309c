using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Storage;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.Stream;

namespace Orchestrator.Engine.Jobs;

/// <summary>What a stream worker opens for its copy, and the commit point. Used only from the worker's tasks, one at a time.</summary>
internal sealed class StreamResources : IDisposable
{
    /// <summary>
    /// Guest-first pacing, measured with fio over NBD at queue depth 1 (2 GiB chain, O_DIRECT): without it a guest
    /// write waited behind the copy's megabyte requests on the device (p99 3.1 ms during a stream, 0.6 ms idle); with
    /// it 1.4 ms. A copy request waits at most this long for a gap between guest requests...
    /// </summary>
    private static readonly TimeSpan GuestGapWait = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// ...and while the guest has been active this recently, the copy uses quarter batches, reads nothing ahead and
    /// keeps one request of at most <see cref="EngineSettings.GuestYieldBytes"/> on the device.
    /// </summary>
    private static readonly TimeSpan GuestActiveWindow = TimeSpan.FromMilliseconds(10);

    private readonly ImageChain? _ownChain;
    private readonly ImageChain? _source;

    private StreamResources(StreamCopier copier, ImageChain? ownChain, ImageChain? source)
    {
        Copier = copier;
        _ownChain = ownChain;
        _source = source;
    }

    public StreamCopier Copier { get; }

    /// <summary>Opens the chains and the copier from <paramref name="offset"/> (the job's last checkpoint).</summary>
    public static StreamResources Open(LiveDisk live, Job job, EngineSettings settings, long offset)
    {
        if (!StreamWorker.UsesLiveChain(job, live))
        {
            // A stream into an intermediate image writes a file the live chain only reads: it gets a chain of its own.
            // The live chain's stale view of that image stays correct, because the copy only adds what lower images
            // already show.
            var own = ImageChain.Open(job.TopPath, settings.ChainOptions(writableTop: true));
            try
            {
                return new StreamResources(new StreamCopier(own, BaseIndex(own, job), settings.BatchBytes, offset, long.MaxValue), own, null);
            }
            catch
            {
                own.Dispose();
                throw;
            }
        }

        // A copier into the live top: it reads from a read-only chain of its own (the live chain's caches belong to the
        // guest path) and takes the disk's lock only for the top's metadata, never for its reads or data writes.
        var source = ImageChain.Open(job.TopPath, settings.ChainOptions(writableTop: false));
        try
        {
            var baseIndex = BaseIndex(source, job);
            var copier = live.WithChain(chain => new StreamCopier(chain, baseIndex, settings.BatchBytes, offset, long.MaxValue,
                prefetch: true, source: source, underLock: live.WithLock,
                beforeIo: () => live.WaitForGuestGap(GuestGapWait),
                yieldToGuest: () => live.GuestActiveWithin(GuestActiveWindow), yieldIoBytes: settings.GuestYieldBytes));
            return new StreamResources(copier, null, source);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>The commit point: one header write (then flush) pointing the top at the base.</summary>
    public string? Commit(Job job, LiveDisk live)
    {
        string? newBacking = null;
        if (job.BasePath is not null)
        {
            newBacking = job.BackingFileString ?? BackingPath.RelativeName(job.TopPath, job.BasePath);
        }

        void Write(ImageChain chain) => chain.Top.SetBackingFile(newBacking, newBacking is null ? null : "qcow2");
        if (_ownChain is not null)
        {
            Write(_ownChain);
        }
        else
        {
            live.WithChain(chain =>
            {
                Write(chain);
                return true;
            });
        }

        return newBacking;
    }

    private static int BaseIndex(ImageChain chain, Job job) => job.BasePath is null ? chain.Images.Count : OfflineStream.ResolveBase(chain, job.BasePath);

    public void Dispose()
    {
        Copier.Dispose();
        _source?.Dispose();
        _ownChain?.Dispose();
    }
}
