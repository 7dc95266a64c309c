using Akka.Actor;

namespace Orchestrator.Engine.Persistence;

/// <summary>
/// Whether the journal's database answers, as the <see cref="PatientSqlWriteJournal"/> last found it: the node's
/// readiness, its write requests (refused at once while it is away) and its metrics read it. One per actor system.
/// </summary>
public sealed class JournalHealth : IExtension
{
    private readonly object _gate = new();
    private JournalOutage? _outage;

    /// <summary>The outage under way, or null while the journal answers.</summary>
    public JournalOutage? Outage
    {
        get
        {
            lock (_gate)
            {
                return _outage;
            }
        }
    }

    public static JournalHealth Of(ActorSystem system) => system.WithExtension<JournalHealth, Id>();

    /// <summary>A write failed for want of the database; the first failure starts the outage. Returns it.</summary>
    internal JournalOutage Failed(Exception error)
    {
        lock (_gate)
        {
            _outage = _outage is null
                ? new JournalOutage(DateTimeOffset.UtcNow, error.GetBaseException().Message, 1)
                : _outage with { LastError = error.GetBaseException().Message, Failures = _outage.Failures + 1 };
            return _outage;
        }
    }

    /// <summary>A write went through: the outage, if any, is over. Returns the outage that ended, or null.</summary>
    internal JournalOutage? Answered()
    {
        lock (_gate)
        {
            var ended = _outage;
            _outage = null;
            return ended;
        }
    }

    private sealed class Id : ExtensionIdProvider<JournalHealth>
    {
        public override JournalHealth CreateExtension(ExtendedActorSystem system) => new();
    }
}
