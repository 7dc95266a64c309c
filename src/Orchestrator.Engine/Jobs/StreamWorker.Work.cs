using Akka.Actor;
using Orchestrator.Domain.Jobs;
using Orchestrator.Qcow2;
using static Orchestrator.Engine.StreamRunnerMessages;

namespace Orchestrator.Engine.Jobs;

/// <summary>The worker's off-thread work and its failures: retries with a doubling delay, the on-error question, a crash.</summary>
internal sealed partial class StreamWorker
{
    private enum Stage
    {
        Open,
        Batch,
        Checkpoint,
        Skip,
        Commit,
        Cancel,
        Report,
    }

    /// <summary>Runs one piece of image work on the thread pool; its result (or failure) comes back as a message.</summary>
    private void RunOffThread(Stage stage, Func<object> work)
    {
        var task = Task.Run(work);
        _inFlight = task;
        task.PipeTo(Self, failure: e => new WorkFailed(stage, e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerException! : e));
    }

    private void OnWorkFailed(WorkFailed failed)
    {
        _inFlight = null;
        var e = failed.Error;
        if (failed.Stage == Stage.Batch && e is Qcow2Exception { Kind: Qcow2ErrorKind.Io or Qcow2ErrorKind.NoSpace } io)
        {
            OnBatchIoError(io);
            return;
        }

        if (e is Qcow2Exception or IOException)
        {
            // An image error that a retry will not cure (corrupt metadata, a missing file): the copy ends with it.
            Finish(new EndedWithError(_job.Id, _run, e.Message));
            return;
        }

        // A bug, not an image error: crash, and let the supervisor restart this worker from the last checkpoint after
        // a back-off. The disk keeps the error, to fail the job with it if the restarts run out.
        _disk.Tell(new Faulted(_job.Id, _run, $"internal error: {e.Message}"));
        throw new StreamWorkerFaultException($"stream worker of job '{_job.Id}' failed while {failed.Stage}", e);
    }

    /// <summary>A batch failed: retried with a doubling delay, then the on-error policy decides through the disk.</summary>
    private void OnBatchIoError(Qcow2Exception e)
    {
        if (_attempt < _settings.IoRetries)
        {
            _attempt++;
            _retryPending = true;
            Timers.StartSingleTimer(RetryTimer, RetryTick.Instance, _retryDelay);
            _retryDelay = _retryDelay * 2 < MaxRetryDelay ? _retryDelay * 2 : MaxRetryDelay;
            return;
        }

        _awaitingAnswer = true;
        Report(busy: false);
        _disk.Tell(new IoFailed(_job.Id, _run, e.Detail, IoOperations.Of(e), e.Kind == Qcow2ErrorKind.NoSpace));
    }

    private sealed record Opened(StreamResources Resources);

    private sealed record BatchDone(bool Checkpointed);

    private sealed record CommitDone(string? NewBackingFile);

    private sealed record CancelStopped(long Offset, long BytesCopied);

    private sealed record ErrorStopped(string Error);

    private sealed record WorkFailed(Stage Stage, Exception Error);

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record RetryTick
    {
        public static readonly RetryTick Instance = new();
    }

    private sealed record CheckpointDone
    {
        public static readonly CheckpointDone Instance = new();
    }

    private sealed record Skipped
    {
        public static readonly Skipped Instance = new();
    }
}
