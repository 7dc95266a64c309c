using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Pacing;
using Orchestrator.Engine.Storage;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.Stream;

namespace Orchestrator.Engine.Jobs;

/// <summary>What a stream worker opens for its copy, and the commit point. Used only from the worker's tasks, one at a time.</summary>
internal sealed class StreamResources : IDisposable
{
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
            // Guest-first pacing that adapts: the copy yields only while the guest waits (docs/operations.md, "Guest first").
            var pacing = new AdaptivePacing(live.GuestPressure, live.WaitForGuestGap, settings.GuestYieldBytes);
            var copier = live.WithChain(chain => new StreamCopier(chain, baseIndex, settings.BatchBytes, offset, long.MaxValue,
                prefetch: true, source: source, underLock: live.WithLock, beforeIo: pacing.BeforeIo,
                yieldToGuest: pacing.Yield, yieldIoBytes: settings.GuestYieldBytes, yieldIoSize: () => pacing.IoBytes));
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
