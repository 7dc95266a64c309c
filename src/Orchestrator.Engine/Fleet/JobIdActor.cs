using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Persistence;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Fleet;

namespace Orchestrator.Engine.Fleet;

/// <summary>
/// One job id's owner in the whole fleet: a persisted entity of the "job-ids" shard region, on any member, so exactly
/// one actor decides each id (<see cref="JobIdOwnership"/>): the check and the claim are one step. An idle entity
/// passivates itself (the fleet's sharding never passivates by itself, for the disks' sake), and one asked about an id
/// nobody holds passivates at once; its journal keeps the owner.
/// </summary>
public sealed class JobIdActor : SnapshottingPersistentActor
{
    private static readonly TimeSpan IdleBeforePassivating = TimeSpan.FromMinutes(2);
    private readonly string _job;
    private JobIdOwnership _state = JobIdOwnership.Free;

    public JobIdActor(EngineSettings settings, string job)
        : base(settings.SnapshotInterval)
    {
        _job = job;
        Recover<SnapshotOffer>(offer => _state = ((JobIdSnapshot)offer.Snapshot).ToOwnership());
        Recover<IJobIdEvent>(e => _state = _state.Apply(e));
        Command<JobIdCommands.Claim>(c =>
        {
            var decision = _state.DecideClaim(_job, c.Claimant, c.Stale);
            if (decision.Refused)
            {
                Sender.Tell(new JobIdCommands.HeldBy(c.Job, _state.Holder!, decision.Error!));
                return;
            }

            PersistThenAnswer(decision.Events, new RegistryCommands.Accepted());
        });
        Command<JobIdCommands.Release>(r => PersistThenAnswer(_state.DecideRelease(r.Holder).Events, null));
        Command<JobIdCommands.Locate>(l =>
        {
            Sender.Tell(new JobIdCommands.Located(l.Job, _state.Holder));
            if (_state.Holder is null)
            {
                // A query of an id nobody holds (a typo, a dismissed job, a client trying ids) keeps nothing in memory.
                PassivateNow();
            }
        });
        Command<ReceiveTimeout>(_ => PassivateNow());
    }

    /// <summary>"jobid-" and the id: no disk ("disk-"), registry ("registry-") or event log ("events-") stream starts so.</summary>
    public static string PersistenceIdOf(string job) => "jobid-" + job;

    public override string PersistenceId => PersistenceIdOf(_job);

    public static Props Props(EngineSettings settings, string job) => Akka.Actor.Props.Create(() => new JobIdActor(settings, job));

    protected override void PreStart()
    {
        Context.SetReceiveTimeout(IdleBeforePassivating);
        base.PreStart();
    }

    protected override object SnapshotState() => JobIdSnapshot.Of(_state);

    private void PassivateNow() => Context.Parent.Tell(new Passivate(PoisonPill.Instance));

    private void PersistThenAnswer(IReadOnlyList<IJobIdEvent> events, object? answer)
    {
        var sender = Sender;
        if (events.Count == 0)
        {
            if (answer is not null)
            {
                sender.Tell(answer);
            }

            return;
        }

        PersistAll(events, e =>
        {
            _state = _state.Apply(e);
            SnapshotIfDue();
            if (answer is not null && ReferenceEquals(e, events[^1]))
            {
                sender.Tell(answer);
            }
        });
    }
}
