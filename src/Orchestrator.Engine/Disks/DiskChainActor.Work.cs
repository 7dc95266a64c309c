using Akka.Actor;
using Orchestrator.Domain.Disks;
using Orchestrator.Engine.Disks;

// A partial of the disk entity: same namespace as its other parts.
namespace Orchestrator.Engine;

public sealed partial class DiskChainActor
{
    private static readonly TimeSpan RegistryTimeout = TimeSpan.FromSeconds(10);

    // The one piece of slow work (a task, or a question to the registry) the actor waits for, and what to do after.
    private int _workToken;
    private Action<object?>? _workDone;
    private Action<Exception>? _workFailed;

    /// <summary>
    /// Waits for <paramref name="work"/> without blocking the actor: its result comes back as a message (PipeTo, with
    /// the current sender kept), and <paramref name="done"/> or <paramref name="failed"/> then runs on the actor's
    /// thread with that sender. Meanwhile the actor is busy: it answers list questions from its state, handles its
    /// runners' reports, and stashes every other command.
    /// </summary>
    private void Await<T>(Task<T> work, Action<T> done, Action<Exception> failed)
    {
        var token = ++_workToken;
        _workDone = result => done((T)result!);
        _workFailed = failed;
        work.PipeTo(Self, Sender, result => new WorkDone(token, result), error => new WorkFailed(token, error));
        Become(Busy);
    }

    /// <summary>
    /// Blocking image work on a thread of its own (<see cref="ImageWorkThreads"/>), not a thread-pool thread: the actors
    /// and the asks of every other disk keep the pool while a large chain opens or is scanned.
    /// </summary>
    private static Task<T> OffThread<T>(Func<T> work) => ImageWorkThreads.Shared.Run(work);

    private Task<object> AskRegistry(object question) => _registry.Ask<object>(question, RegistryTimeout);

    private void Busy()
    {
        CommandSnapshotHousekeeping();
        CommandSummaryMessages();
        CommandRunnerMessages();
        Command<WorkDone>(m => Finish(m.Token, done => done(m.Result), failed: null, m.Result));
        Command<WorkFailed>(m => Finish(m.Token, done: null, failed => failed(m.Error.GetBaseException()), null));
        // A list (Summarize, QueryJobs across disks) never waits for one disk's open; a question about this disk
        // alone (show, one job) waits for it, and then sees the chain as reconciled with the headers.
        Command<DiskCommands.QueryJobs>(_ => Sender.Tell(new DiskReplies.JobList(JobInfos())));
        CommandAny(_ => Stash.Stash());
    }

    private void Finish(int token, Action<Action<object?>>? done, Action<Action<Exception>>? failed, object? result)
    {
        if (token != _workToken)
        {
            // Not the work this actor waits for (cannot happen while one piece runs at a time); never leak an open chain.
            (result as IDisposable)?.Dispose();
            return;
        }

        var onDone = _workDone!;
        var onFailed = _workFailed!;
        _workDone = null;
        _workFailed = null;
        done?.Invoke(onDone);
        failed?.Invoke(onFailed);
        if (_workDone is null)
        {
            Settle();
            Stash.UnstashAll();
        }
    }

    private sealed record WorkDone(int Token, object? Result);

    private sealed record WorkFailed(int Token, Exception Error);
}
