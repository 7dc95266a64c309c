using Akka.Actor;
using Akka.Pattern;

namespace Orchestrator.Engine.Jobs;

/// <summary>
/// The supervisor of one job's <see cref="StreamWorker"/>: Akka's BackoffSupervisor restarting the worker on a crash
/// after a delay that doubles from <see cref="MinBackoff"/> up to <see cref="MaxBackoff"/>, at most
/// <see cref="MaxRestarts"/> times. A restarted worker asks its disk for the job's persisted state and copies on from
/// the last checkpoint (a redone range is copied again to the same clusters, harmlessly). When the worker stops on its
/// own (its job ended) the supervisor stops too; when the restarts run out it stops, and the disk, which watches it,
/// fails the job with the last error.
/// </summary>
internal static class JobSupervisor
{
    public static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);
    public const int MaxRestarts = 3;

    public static Props Props(Props worker) =>
        BackoffSupervisor.Props(Backoff.OnFailure(worker, "worker", MinBackoff, MaxBackoff, randomFactor: 0.2, maxNrOfRetries: MaxRestarts));
}
