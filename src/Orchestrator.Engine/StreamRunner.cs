using System.Diagnostics;
using Akka.Actor;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Storage;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.Stream;

namespace Orchestrator.Engine;

/// <summary>
/// The copy loop of one stream job, on its own thread (never the actor's). Between batches it takes QEMU's pause and
/// cancel points and the rate limit; after each checkpoint-sized amount it commits and flushes, then tells the actor,
/// which persists the offset: flush first, persist second, never the other way round.
/// </summary>
internal sealed class StreamRunner : IDisposable
{
    private readonly LiveDisk _disk;
    private readonly Job _job;
    private readonly EngineSettings _settings;
    private readonly IActorRef _actor;
    private readonly RateLimiter _limiter = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly object _gate = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ImageChain? _ownChain;
    private bool _paused;
    private bool _cancelled;
    private ErrorDecision _errorDecision = ErrorDecision.None;
    private string? _stopError;
    private Task? _loop;

    private enum ErrorDecision
    {
        None,
        Retry,
        Skip,
        Stop,
    }

    public StreamRunner(LiveDisk disk, Job job, EngineSettings settings, IActorRef actor, bool startPaused)
    {
        _disk = disk;
        _job = job;
        _settings = settings;
        _actor = actor;
        _paused = startPaused;
        _limiter.Speed = job.Speed;

        // A stream into an intermediate image writes a file the live chain only reads: it gets a chain of its own.
        // The live chain's stale view of that image stays correct, because the copy only adds what lower images already show.
        if (!SamePath(job.TopPath, disk.ActivePath))
        {
            _ownChain = ImageChain.Open(job.TopPath, settings.ChainOptions(writableTop: true));
        }
    }

    /// <summary>Bytes copied by this runner (for throughput), and the scanned offset (for progress).</summary>
    public long BytesCopied { get; private set; }

    public long Offset { get; private set; }

    public void Start() => _loop = Task.Factory.StartNew(Loop, TaskCreationOptions.LongRunning);

    public void Pause() => Signal(() => _paused = true);

    public void Resume() => Signal(() => _paused = false);

    public void Cancel() => Signal(() => _cancelled = true);

    public void SetSpeed(long speed) => Signal(() => _limiter.Speed = speed);

    /// <summary>After an I/O error: try the same batch again (resume of on-error stop).</summary>
    public void Retry() => Signal(() => _errorDecision = ErrorDecision.Retry);

    /// <summary>After an I/O error: skip that batch and go on (on-error ignore).</summary>
    public void SkipAndContinue() => Signal(() => _errorDecision = ErrorDecision.Skip);

    /// <summary>After an I/O error: stop copying and end with it (on-error report).</summary>
    public void StopWithError(string error) => Signal(() =>
    {
        _stopError = error;
        _errorDecision = ErrorDecision.Stop;
    });

    private void Signal(Action change)
    {
        lock (_gate)
        {
            change();
        }

        _wake.Release();
    }

    private T WithChain<T>(Func<ImageChain, T> action) => _ownChain is not null ? action(_ownChain) : _disk.WithChain(action);

    private void Loop()
    {
        StreamCopier? copier = null;
        ImageChain? source = null;
        var ignoredError = _job.IgnoredError;
        try
        {
            copier = _ownChain is not null
                ? new StreamCopier(_ownChain, BaseIndex(_ownChain), _settings.BatchBytes, _job.Offset, long.MaxValue)
                : CreateLiveCopier(out source);
            Offset = copier.Offset;
            var lastCheckpoint = copier.CheckpointOffset;
            var copiedAtCheckpoint = copier.BytesCopied;
            while (!copier.Done)
            {
                if (!IsRunnable() && copier.Offset > lastCheckpoint)
                {
                    // A pause point: make what was copied durable and recorded before waiting, so a crash while
                    // paused resumes from here and the offset a user saw never goes back.
                    copier.FlushData();
                    copier.Checkpoint();
                    lastCheckpoint = copier.CheckpointOffset;
                    _actor.Tell(new StreamRunnerMessages.Checkpointed(_job.Id, lastCheckpoint, this));
                }

                if (!WaitUntilRunnable())
                {
                    copier.Checkpoint();
                    _actor.Tell(new StreamRunnerMessages.Cancelled(_job.Id, copier.CheckpointOffset, this));
                    return;
                }

                ThrottleFor(copier.NextStepBytes);

                // The rate-limit sleep is a pause point too: a pause or cancel during it takes effect before copying.
                if (!IsRunnable())
                {
                    continue;
                }

                var before = copier.BytesCopied;
                if (!TryStep(copier, ref ignoredError))
                {
                    if (StopError() is { } error)
                    {
                        // Keep what was copied (a later stream skips it), then end: the actor fails the job only now.
                        TryCheckpoint(copier);
                        _actor.Tell(new StreamRunnerMessages.EndedWithError(_job.Id, error, this));
                        return;
                    }

                    continue;
                }

                BytesCopied += copier.BytesCopied - before;
                Offset = copier.Offset;
                // Counted in bytes copied, not address space scanned: the interval bounds the work a crash redoes,
                // and a sparse chain would otherwise pay a checkpoint for every stretch of nothing to copy.
                if (copier.BytesCopied - copiedAtCheckpoint >= _settings.CheckpointBytes || copier.Done)
                {
                    // The long fdatasync happens outside the disk's lock, so guest requests do not wait for it.
                    copier.FlushData();
                    copier.Checkpoint();
                    lastCheckpoint = copier.CheckpointOffset;
                    copiedAtCheckpoint = copier.BytesCopied;
                    _actor.Tell(new StreamRunnerMessages.Checkpointed(_job.Id, lastCheckpoint, this));
                }
            }

            if (ignoredError is not null)
            {
                _actor.Tell(new StreamRunnerMessages.EndedWithError(_job.Id, ignoredError, this));
                return;
            }

            var newBacking = WithChain(chain => Commit(chain));
            _actor.Tell(new StreamRunnerMessages.Committed(_job.Id, newBacking, this));
        }
        catch (Exception e)
        {
            // Whatever stops the loop is reported: a runner must never die silently and leave its job "running".
            _actor.Tell(new StreamRunnerMessages.EndedWithError(_job.Id, e is Qcow2Exception ? e.Message : $"internal error: {e.Message}", this));
        }
        finally
        {
            copier?.Dispose();
            source?.Dispose();
        }
    }

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

    /// <summary>
    /// A copier into the live top: it reads from a read-only chain of its own (the live chain's caches belong to the
    /// guest path) and takes the disk's lock only for the top's metadata, never for its reads or data writes.
    /// </summary>
    private StreamCopier CreateLiveCopier(out ImageChain source)
    {
        source = ImageChain.Open(_job.TopPath, _settings.ChainOptions(writableTop: false));
        var baseIndex = BaseIndex(source);
        var privateSource = source;
        return _disk.WithChain(chain => new StreamCopier(chain, baseIndex, _settings.BatchBytes, _job.Offset, long.MaxValue,
            prefetch: true, source: privateSource, underLock: _disk.WithLock,
            beforeIo: () => _disk.WaitForGuestGap(GuestGapWait),
            yieldToGuest: () => _disk.GuestActiveWithin(GuestActiveWindow), yieldIoBytes: _settings.GuestYieldBytes));
    }

    /// <summary>One batch, retried with doubling backoff; then the on-error policy decides through the actor.</summary>
    private bool TryStep(StreamCopier copier, ref string? ignoredError)
    {
        var delay = _settings.IoRetryBackoff;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                copier.Step();
                return true;
            }
            catch (Qcow2Exception e) when (e.Kind is Qcow2ErrorKind.Io or Qcow2ErrorKind.NoSpace)
            {
                if (attempt < _settings.IoRetries)
                {
                    Thread.Sleep(delay);
                    delay *= 2;
                    continue;
                }

                var operation = e.Operation is "write" or "writing" or "flushing" ? "write" : "read";
                var decision = AwaitErrorDecision(new StreamRunnerMessages.IoFailed(_job.Id, e.Detail, operation, e.Kind == Qcow2ErrorKind.NoSpace, this));
                if (decision == ErrorDecision.Skip)
                {
                    ignoredError ??= e.Detail;
                    copier.SkipBatch();
                    return false;
                }

                return false;
            }
        }
    }

    private ErrorDecision AwaitErrorDecision(StreamRunnerMessages.IoFailed failure)
    {
        lock (_gate)
        {
            _errorDecision = ErrorDecision.None;
        }

        _actor.Tell(failure);
        while (true)
        {
            lock (_gate)
            {
                if (_cancelled)
                {
                    return ErrorDecision.None;
                }

                if (_errorDecision != ErrorDecision.None)
                {
                    var decision = _errorDecision;
                    _errorDecision = ErrorDecision.None;
                    return decision;
                }
            }

            _wake.Wait(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>A checkpoint on the way out after an error; its own failure must not hide the error being reported.</summary>
    private static void TryCheckpoint(StreamCopier copier)
    {
        try
        {
            copier.Checkpoint();
        }
        catch (Qcow2Exception)
        {
            // What was copied stays uncommitted: leaked clusters at worst, which the next writable open gives back.
        }
    }

    private string? StopError()
    {
        lock (_gate)
        {
            return _stopError;
        }
    }

    private bool IsRunnable()
    {
        lock (_gate)
        {
            return !_paused && !_cancelled;
        }
    }

    /// <summary>True while the copy loop is not paused or stopping (the query's busy).</summary>
    public bool Busy => IsRunnable();

    /// <summary>Whether this runner copies through the live chain (its top is the active image).</summary>
    public bool UsesLiveChain => _ownChain is null;

    /// <summary>Blocks while paused; false when cancelled (QEMU's job_pause_point).</summary>
    private bool WaitUntilRunnable()
    {
        while (true)
        {
            lock (_gate)
            {
                if (_cancelled)
                {
                    return false;
                }

                if (!_paused)
                {
                    return true;
                }
            }

            _wake.Wait(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Sleeps out the rate limit; a speed change or cancel wakes it early (then it re-evaluates).</summary>
    private void ThrottleFor(long bytes)
    {
        while (true)
        {
            TimeSpan wait;
            lock (_gate)
            {
                if (_cancelled)
                {
                    return;
                }

                wait = _limiter.Delay(bytes, _clock.Elapsed);
            }

            if (wait <= TimeSpan.Zero)
            {
                return;
            }

            _wake.Wait(wait);
        }
    }

    private int BaseIndex(ImageChain chain) => _job.BasePath is null ? chain.Images.Count : OfflineStream.ResolveBase(chain, _job.BasePath);

    /// <summary>The commit point: one header write (then flush) pointing the top at the base.</summary>
    private string? Commit(ImageChain chain)
    {
        string? newBacking = null;
        if (_job.BasePath is not null)
        {
            newBacking = _job.BackingFileString ?? BackingPath.RelativeName(_job.TopPath, _job.BasePath);
        }

        chain.Top.SetBackingFile(newBacking, newBacking is null ? null : "qcow2");
        return newBacking;
    }

    private static bool SamePath(string a, string b) => Path.GetFullPath(a) == Path.GetFullPath(b);

    public void Dispose()
    {
        Cancel();
        try
        {
            _loop?.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // The loop reports its own failures to the actor.
        }

        _ownChain?.Dispose();
        _wake.Dispose();
    }
}
