using System.Diagnostics;
using Akka.Actor;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Observability;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.Stream;
using static Orchestrator.Engine.StreamRunnerMessages;

namespace Orchestrator.Engine.Jobs;

/// <summary>
/// The copy of one stream job, as an actor under its <see cref="JobSupervisor"/>. It holds no state the disk actor
/// reads: decisions arrive as messages, progress and outcomes leave as messages. Each piece of image work (open, batch,
/// checkpoint, skip, commit) runs as one Task off the actor thread, at most one at a time, and its result comes back
/// with PipeTo; between them the worker takes QEMU's pause and cancel points and the rate limit. After each
/// checkpoint-sized amount it flushes and commits, then tells the disk, which persists the offset: flush first,
/// persist second. It never commits the new backing file on its own: it asks (<see cref="ReadyToCommit"/>) and the
/// disk, which also handles cancel, answers commit or cancel, so the two can never both happen.
/// </summary>
internal sealed partial class StreamWorker : ReceiveActor, IWithTimers
{
    /// <summary>The longest wait between retries of a failed batch (the wait doubles from IoRetryBackoff).</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private const string ThrottleTimer = "throttle";
    private const string RetryTimer = "retry";

    private readonly IActorRef _disk;
    private readonly LiveDisk _live;
    private readonly Job _job;
    private readonly long _run;
    private readonly EngineSettings _settings;
    private readonly ActivityContext _trace;
    private readonly RateLimiter _limiter = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private StreamResources? _resources;
    private Task? _inFlight;
    private bool _started;
    private bool _paused;
    private bool _heldForHandOff;
    private bool _cancelled;
    private bool _awaitingAnswer;
    private bool _awaitingCommit;
    private bool _retryPending;
    private bool _finished;
    private string? _ignoredError;
    private long _lastCheckpoint;
    private long _copiedAtCheckpoint;
    private int _attempt;
    private TimeSpan _retryDelay;
    private (long Offset, bool Busy)? _reported;

    public StreamWorker(IActorRef disk, LiveDisk live, Job job, long run, EngineSettings settings, ActivityContext trace = default)
    {
        _trace = trace;
        _disk = disk;
        _live = live;
        _job = job;
        _run = run;
        _settings = settings;
        _retryDelay = settings.IoRetryBackoff;

        Receive<Go>(OnGo);
        Receive<Opened>(OnOpened);
        Receive<Pause>(_ => Change(() => _paused = true));
        Receive<HoldForHandOff>(_ => Change(() => _paused = _heldForHandOff = true));
        Receive<Resume>(_ => Change(() => _paused = false));
        Receive<Cancel>(_ => Change(() => _cancelled = true));
        Receive<SetSpeed>(m => Change(() => _limiter.Speed = m.Speed));
        Receive<ErrorAnswer>(OnErrorAnswer);
        Receive<RetryBatch>(_ => OnRetryBatch());
        Receive<Commit>(_ => OnCommit());
        Receive<Tick>(_ => Advance());
        Receive<RetryTick>(_ => Change(() => _retryPending = false));
        Receive<BatchDone>(OnBatchDone);
        Receive<CheckpointDone>(OnCheckpointDone);
        Receive<Skipped>(_ => Change(() => _inFlight = null));
        Receive<CommitDone>(m => Finish(new Committed(_job.Id, _run, m.NewBackingFile)));
        Receive<CancelStopped>(m => Finish(new Cancelled(_job.Id, _run, m.Offset, m.BytesCopied)));
        Receive<ErrorStopped>(m => Finish(new EndedWithError(_job.Id, _run, m.Error)));
        Receive<WorkFailed>(OnWorkFailed);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary><paramref name="trace"/>: the job's start span, parent of each batch's span (default: no batch spans).</summary>
    public static Props Props(IActorRef disk, LiveDisk live, Job job, long run, EngineSettings settings, ActivityContext trace = default) =>
        Akka.Actor.Props.Create(() => new StreamWorker(disk, live, job, run, settings, trace));

    /// <summary>Whether this job's copy goes through the live chain (its top is the active image).</summary>
    public static bool UsesLiveChain(Job job, LiveDisk live) => SamePath(job.TopPath, live.ActivePath);

    protected override void PreStart() => _disk.Tell(new WorkerStarted(_job.Id, _run));

    private void OnGo(Go go)
    {
        if (_started || _inFlight is not null)
        {
            return;
        }

        _paused = go.Paused;
        _cancelled |= go.Cancelled;
        _limiter.Speed = go.Speed;
        _ignoredError = go.IgnoredError;
        RunOffThread(Stage.Open, () => new Opened(StreamResources.Open(_live, _job, _settings, go.Offset)));
    }

    private void OnOpened(Opened opened)
    {
        _inFlight = null;
        _resources = opened.Resources;
        _lastCheckpoint = _resources.Copier.CheckpointOffset;
        _copiedAtCheckpoint = _resources.Copier.BytesCopied;
        _started = true;
        Advance();
    }

    /// <summary>A decision changed a flag: take it into account at once (a wait for the rate limit is re-evaluated too).</summary>
    private void Change(Action change)
    {
        change();
        Advance();
    }

    /// <summary>
    /// QEMU's pause point, between two pieces of work: cancel first, then the answers the worker waits for, the end of
    /// the copy (a pause that came after the last batch does not hold the commit back, as in QEMU), pause, rate limit.
    /// </summary>
    private void Advance()
    {
        if (!_started || _inFlight is not null || _finished)
        {
            return;
        }

        var copier = _resources!.Copier;
        if (_cancelled)
        {
            Timers.CancelAll();
            RunOffThread(Stage.Cancel, () => new CancelStopped(FinalCheckpoint(copier), copier.BytesCopied));
            return;
        }

        if (_awaitingAnswer || _awaitingCommit || _retryPending)
        {
            Report(busy: false);
            TellHeldIfHandingOff();
            return;
        }

        if (copier.Done)
        {
            EndOfCopy();
            return;
        }

        if (_paused)
        {
            Timers.Cancel(ThrottleTimer);
            PausePoint(copier);
            return;
        }

        var wait = _limiter.Delay(copier.NextStepBytes, _clock.Elapsed);
        if (wait > TimeSpan.Zero)
        {
            Timers.StartSingleTimer(ThrottleTimer, Tick.Instance, wait);
            return;
        }

        StartBatch(copier);
    }

    private void StartBatch(StreamCopier copier)
    {
        var copiedAtCheckpoint = _copiedAtCheckpoint;
        var every = _settings.CheckpointBytes;
        var trace = _trace;
        var job = _job.Id.Value;
        Report(busy: true);
        RunOffThread(Stage.Batch, () =>
        {
            using var span = EngineSpans.StartBatch(trace, job, copier.Offset);
            var copiedBefore = copier.BytesCopied;
            copier.Step();
            span?.SetTag("bytes_copied", copier.BytesCopied - copiedBefore);

            // Counted in bytes copied, not address space scanned: the interval bounds the work a crash redoes, and a
            // sparse chain would otherwise pay a checkpoint for every stretch of nothing to copy. The long fdatasync
            // happens outside the disk's lock, so guest requests do not wait for it.
            var due = copier.BytesCopied - copiedAtCheckpoint >= every || copier.Done;
            if (due)
            {
                copier.FlushData();
                copier.Checkpoint();
            }

            return new BatchDone(due);
        });
    }

    private void OnBatchDone(BatchDone done)
    {
        _inFlight = null;
        _attempt = 0;
        _retryDelay = _settings.IoRetryBackoff;
        if (done.Checkpointed)
        {
            RecordCheckpoint();
        }

        Report(busy: true);
        Advance();
    }

    /// <summary>Makes what was copied durable and recorded before waiting, so a crash while paused resumes from here.</summary>
    private void PausePoint(StreamCopier copier)
    {
        if (copier.Offset <= _lastCheckpoint)
        {
            Report(busy: false);
            TellHeldIfHandingOff();
            return;
        }

        RunOffThread(Stage.Checkpoint, () =>
        {
            copier.FlushData();
            copier.Checkpoint();
            return CheckpointDone.Instance;
        });
    }

    private void OnCheckpointDone(CheckpointDone done)
    {
        _inFlight = null;
        RecordCheckpoint();
        Advance();
    }

    private void RecordCheckpoint()
    {
        var copier = _resources!.Copier;
        _lastCheckpoint = copier.CheckpointOffset;
        _copiedAtCheckpoint = copier.BytesCopied;
        _disk.Tell(new Checkpointed(_job.Id, _run, _lastCheckpoint, copier.BytesCopied));
    }

    /// <summary>At rest with everything durable and reported: the disk that asked may stop now.</summary>
    private void TellHeldIfHandingOff()
    {
        if (_heldForHandOff)
        {
            _disk.Tell(new HeldForHandOff(_job.Id, _run));
        }
    }

    /// <summary>Everything is copied and flushed: a remembered (ignored) error ends the job, otherwise the disk decides.</summary>
    private void EndOfCopy()
    {
        if (_ignoredError is not null)
        {
            Finish(new EndedWithError(_job.Id, _run, _ignoredError));
            return;
        }

        _awaitingCommit = true;
        Report(busy: false);
        _disk.Tell(new ReadyToCommit(_job.Id, _run));
    }

    private void OnCommit()
    {
        if (!_awaitingCommit || _finished || _inFlight is not null)
        {
            return;
        }

        var resources = _resources!;
        RunOffThread(Stage.Commit, () => new CommitDone(resources.Commit(_job, _live)));
    }

    private void OnErrorAnswer(ErrorAnswer answer)
    {
        if (!_awaitingAnswer)
        {
            return;
        }

        switch (answer.Action)
        {
            case OnErrorAction.Ignore:
                _awaitingAnswer = false;
                _ignoredError ??= answer.Error;
                var copier = _resources!.Copier;
                RunOffThread(Stage.Skip, () =>
                {
                    copier.SkipBatch();
                    return Skipped.Instance;
                });
                break;
            case OnErrorAction.Report:
                // Keep what was copied (a later stream skips it), then end: the disk fails the job only now.
                _awaitingAnswer = false;
                var reported = _resources!.Copier;
                RunOffThread(Stage.Report, () =>
                {
                    FinalCheckpoint(reported);
                    return new ErrorStopped(answer.Error);
                });
                break;
            default:
                // Stop: the job is paused with an io-status; resume retries the batch (RetryBatch), cancel ends it.
                _paused = true;
                Advance();
                break;
        }
    }

    private void OnRetryBatch()
    {
        if (!_awaitingAnswer)
        {
            return;
        }

        _awaitingAnswer = false;
        _attempt = 0;
        _retryDelay = _settings.IoRetryBackoff;
        Advance();
    }

    /// <summary>Sends where the copy is and whether it is busy, when either changed (with the bytes copied so far).</summary>
    private void Report(bool busy)
    {
        var now = (_resources?.Copier.Offset ?? 0, busy);
        if (_reported != now)
        {
            _reported = now;
            _disk.Tell(new Progress(_job.Id, _run, now.Item1, busy, _resources?.Copier.BytesCopied ?? 0));
        }
    }

    /// <summary>The worker's last word: its resources are released first, so the disk may reopen the chain at once.</summary>
    private void Finish(object outcome)
    {
        _inFlight = null;
        _finished = true;
        Timers.CancelAll();
        _resources?.Dispose();
        _resources = null;
        _disk.Tell(outcome);
        Context.Stop(Self);
    }

    private static bool SamePath(string a, string b) => Path.GetFullPath(a) == Path.GetFullPath(b);

    /// <summary>A checkpoint on the way out; its own failure must not hide why the copy stops.</summary>
    private static long FinalCheckpoint(StreamCopier copier)
    {
        try
        {
            copier.Checkpoint();
        }
        catch (Qcow2Exception)
        {
            // What was copied stays uncommitted: leaked clusters at worst, which the next writable open gives back.
        }

        return copier.CheckpointOffset;
    }

    protected override void PostStop()
    {
        // Stopped from outside (the disk stops, the node shuts down): the work in flight uses the images, so it
        // finishes before they are closed. One batch at most.
        try
        {
            _inFlight?.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // Its failure no longer matters to anyone.
        }

        _resources?.Dispose();
        _resources = null;
        base.PostStop();
    }
}
