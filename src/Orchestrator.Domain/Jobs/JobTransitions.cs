using static Orchestrator.Domain.Jobs.JobStatus;
using static Orchestrator.Domain.Jobs.JobVerb;

namespace Orchestrator.Domain.Jobs;

/// <summary>QEMU's job.c tables, copied as tables: which status may follow which, and which verbs each status accepts.</summary>
public static class JobTransitions
{
    private static readonly Dictionary<JobStatus, JobStatus[]> Next = new()
    {
        [Undefined] = [Created],
        [Created] = [Running, Aborting, Null],
        [Running] = [Paused, Ready, Waiting, Aborting],
        [Paused] = [Running],
        [Ready] = [Standby, Waiting, Aborting],
        [Standby] = [Ready],
        [Waiting] = [Pending, Aborting],
        [Pending] = [Aborting, Concluded],
        [Aborting] = [Aborting, Concluded],
        [Concluded] = [Null],
        [Null] = [],
    };

    private static readonly Dictionary<JobVerb, JobStatus[]> Verbs = new()
    {
        [Cancel] = [Created, Running, Paused, Ready, Standby, Waiting, Pending],
        [Pause] = [Created, Running, Paused, Ready, Standby],
        [Resume] = [Created, Running, Paused, Ready, Standby],
        [SetSpeed] = [Created, Running, Paused, Ready, Standby],
        [Complete] = [Ready, Standby],
        [JobVerb.Finalize] = [Pending],
        [Dismiss] = [Concluded],
    };

    public static bool CanTransition(JobStatus from, JobStatus to) => Next[from].Contains(to);

    public static bool Accepts(JobStatus status, JobVerb verb) => Verbs[verb].Contains(status);

    /// <summary>
    /// Null when every status change in <paramref name="events"/>, taken in order from <paramref name="from"/>, is in the
    /// table; otherwise the first illegal step. Decisions check their events with it before they are persisted.
    /// </summary>
    public static string? Problem(JobId id, JobStatus from, IEnumerable<JobEvent> events)
    {
        var status = from;
        foreach (var change in events.OfType<JobStatusChanged>())
        {
            if (!CanTransition(status, change.Status))
            {
                return $"Job '{id}' cannot move from '{QemuNames.Of(status)}' to '{QemuNames.Of(change.Status)}'";
            }

            status = change.Status;
        }

        return null;
    }

    /// <summary>QEMU's wording for a refused verb.</summary>
    public static string VerbRefused(JobId id, JobStatus status, JobVerb verb) =>
        $"Job '{id}' in state '{QemuNames.Of(status)}' cannot accept command verb '{QemuNames.Of(verb)}'";
}
