using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;

namespace Orchestrator.Engine.Persistence;

/// <summary>
/// Akka.Persistence.Sql's write journal, made to wait out an outage of its database (PostgreSQL stopped or restarting,
/// unreachable, out of connections; SQLite busy or its disk full) instead of failing the write. Akka stops a persistent
/// actor whose write fails, and a disk's actor holds its open images and the guest's NBD export: one PostgreSQL restart
/// would take every disk away from its guest, and their jobs with them. Here a write that fails for an outage
/// (<see cref="JournalErrors.IsOutage"/>) is tried again after a back-off (0.1 s doubling to 5 s) until the database
/// answers; the writing actor waits meanwhile (Akka stashes its commands), the guest's I/O does not go through it and
/// goes on, and a job copies on until it needs its next answer. Any other failure fails the write as before.
/// </summary>
public sealed class PatientSqlWriteJournal : SqlWriteJournal
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestDelay = TimeSpan.FromSeconds(5);

    // A warning on the first failed attempt of a write, then every this many: about one a minute per waiting write.
    private const int WarnEvery = 12;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly JournalHealth _health = JournalHealth.Of(Context.System);
    private readonly IScheduler _scheduler = Context.System.Scheduler;
    private readonly ConcurrentDictionary<PendingWrite, bool> _pending = new();

    public PatientSqlWriteJournal(Config journalConfig)
        : base(journalConfig)
    {
    }

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        // The token is the circuit breaker's call timeout (a day, JournalSettings.Overrides): the write gives up then.
        var write = new PendingWrite([.. messages], cancellationToken);
        _pending[write] = true;
        Attempt(write);
        return write.Result.Task;
    }

    protected override bool ReceivePluginInternal(object message)
    {
        if (message is RetryWrite retry)
        {
            Attempt(retry.Write);
            return true;
        }

        return base.ReceivePluginInternal(message);
    }

    protected override void PostStop()
    {
        foreach (var write in _pending.Keys)
        {
            write.Result.TrySetException(new InvalidOperationException("the journal stopped while this write waited for its database"));
        }

        base.PostStop();
    }

    /// <summary>One attempt, on the journal actor's thread (the base class keeps per-id state and uses Self).</summary>
    private void Attempt(PendingWrite write)
    {
        var self = Self;
        Task<IImmutableList<Exception>> attempt;
        try
        {
            attempt = base.WriteMessagesAsync(write.Messages, write.Cancellation);
        }
        catch (Exception e)
        {
            attempt = Task.FromException<IImmutableList<Exception>>(e);
        }

        attempt.ContinueWith(t => Settle(write, t, self), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Off the actor's thread: completes the write, or schedules the next attempt through the mailbox.</summary>
    private void Settle(PendingWrite write, Task<IImmutableList<Exception>> attempt, IActorRef self)
    {
        if (attempt.IsCompletedSuccessfully)
        {
            Complete(write, attempt.Result);
            return;
        }

        var error = attempt.Exception?.GetBaseException() ?? new OperationCanceledException("the journal's write was cancelled");
        if (write.Failures > 0 && JournalErrors.IsAlreadyWritten(error))
        {
            _log.Info("a write retried after an outage of the journal's database was already stored by its earlier attempt");
            Complete(write, null);
            return;
        }

        if (!JournalErrors.IsOutage(error) || write.Cancellation.IsCancellationRequested)
        {
            _pending.TryRemove(write, out _);
            write.Result.TrySetException(error);
            return;
        }

        var outage = _health.Failed(error);
        write.Failures++;
        var delay = TimeSpan.FromTicks(Math.Min(LongestDelay.Ticks, FirstDelay.Ticks << Math.Min(write.Failures - 1, 16)));
        if (write.Failures == 1 || write.Failures % WarnEvery == 0)
        {
            _log.Warning("{0}; a write of {1} event(s) waits for it (attempt {2}, next in {3:0.0} s)",
                outage.Describe(DateTimeOffset.UtcNow), write.Messages.Sum(m => m.Size), write.Failures, delay.TotalSeconds);
        }

        _scheduler.ScheduleTellOnce(delay, self, new RetryWrite(write), ActorRefs.NoSender);
    }

    private void Complete(PendingWrite write, IImmutableList<Exception>? result)
    {
        _pending.TryRemove(write, out _);
        if (_health.Answered() is { } ended)
        {
            _log.Warning("the journal's database answers again after {0:0.0} s; waiting writes go on", (DateTimeOffset.UtcNow - ended.Since).TotalSeconds);
        }

        // Null is Akka's "nothing rejected" (a list would need one entry per write).
        write.Result.TrySetResult(result!);
    }

    private sealed class PendingWrite(IReadOnlyList<AtomicWrite> messages, CancellationToken cancellation)
    {
        public IReadOnlyList<AtomicWrite> Messages { get; } = messages;

        public CancellationToken Cancellation { get; } = cancellation;

        public TaskCompletionSource<IImmutableList<Exception>> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Failures { get; set; }
    }

    private sealed record RetryWrite(PendingWrite Write);
}
