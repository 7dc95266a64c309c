using static Orchestrator.Domain.Jobs.JobStatus;
using static Orchestrator.Domain.Jobs.JobVerb;

namespace Orchestrator.Domain.Tests.Jobs;

/// <summary>QEMU's job.c tables, written out again here independently so a typo in src cannot agree with itself.</summary>
public sealed class JobTransitionsTests
{
    // job.c JobSTT: the only allowed (from, to) pairs. Undefined -> created is job.c's first row.
    private static readonly HashSet<(JobStatus From, JobStatus To)> AllowedTransitions =
    [
        (Undefined, Created),
        (Created, Running), (Created, Aborting), (Created, Null),
        (Running, Paused), (Running, Ready), (Running, Waiting), (Running, Aborting),
        (Paused, Running),
        (Ready, Standby), (Ready, Waiting), (Ready, Aborting),
        (Standby, Ready),
        (Waiting, Pending), (Waiting, Aborting),
        (Pending, Aborting), (Pending, Concluded),
        (Aborting, Aborting), (Aborting, Concluded),
        (Concluded, Null),
    ];

    // job.c JobVerbTable: the statuses in which each verb is accepted.
    private static readonly Dictionary<JobVerb, JobStatus[]> AllowedVerbs = new()
    {
        [Cancel] = [Created, Running, Paused, Ready, Standby, Waiting, Pending],
        [Pause] = [Created, Running, Paused, Ready, Standby],
        [Resume] = [Created, Running, Paused, Ready, Standby],
        [SetSpeed] = [Created, Running, Paused, Ready, Standby],
        [Complete] = [Ready, Standby],
        [JobVerb.Finalize] = [Pending],
        [Dismiss] = [Concluded],
    };

    public static TheoryData<JobStatus, JobStatus, bool> EveryTransition()
    {
        var data = new TheoryData<JobStatus, JobStatus, bool>();
        foreach (var from in Enum.GetValues<JobStatus>())
        {
            foreach (var to in Enum.GetValues<JobStatus>())
            {
                data.Add(from, to, AllowedTransitions.Contains((from, to)));
            }
        }

        return data;
    }

    public static TheoryData<JobStatus, JobVerb, bool> EveryVerb()
    {
        var data = new TheoryData<JobStatus, JobVerb, bool>();
        foreach (var status in Enum.GetValues<JobStatus>())
        {
            foreach (var verb in Enum.GetValues<JobVerb>())
            {
                data.Add(status, verb, AllowedVerbs[verb].Contains(status));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryTransition))]
    public void TransitionTableIsQemus(JobStatus from, JobStatus to, bool allowed)
    {
        Assert.Equal(allowed, JobTransitions.CanTransition(from, to));
    }

    [Theory]
    [MemberData(nameof(EveryVerb))]
    public void VerbTableIsQemus(JobStatus status, JobVerb verb, bool allowed)
    {
        Assert.Equal(allowed, JobTransitions.Accepts(status, verb));
    }

    [Fact]
    public void TablesCoverEveryStatusAndVerb()
    {
        // 11 statuses squared and 11 x 7 verbs: the theories above must see every combination.
        Assert.Equal(11 * 11, EveryTransition().Count());
        Assert.Equal(11 * 7, EveryVerb().Count());
    }

    [Theory]
    [InlineData(Undefined, "undefined")]
    [InlineData(Created, "created")]
    [InlineData(Running, "running")]
    [InlineData(Paused, "paused")]
    [InlineData(Ready, "ready")]
    [InlineData(Standby, "standby")]
    [InlineData(Waiting, "waiting")]
    [InlineData(Pending, "pending")]
    [InlineData(Aborting, "aborting")]
    [InlineData(Concluded, "concluded")]
    [InlineData(Null, "null")]
    public void RefusalNamesTheStatusInLowerCase(JobStatus status, string name)
    {
        Assert.Equal(
            $"Job 'job0' in state '{name}' cannot accept command verb 'cancel'",
            JobTransitions.VerbRefused(new JobId("job0"), status, Cancel));
    }

    [Theory]
    [InlineData(Cancel, "cancel")]
    [InlineData(Pause, "pause")]
    [InlineData(Resume, "resume")]
    [InlineData(SetSpeed, "set-speed")]
    [InlineData(Complete, "complete")]
    [InlineData(JobVerb.Finalize, "finalize")]
    [InlineData(Dismiss, "dismiss")]
    public void RefusalNamesTheVerbAsQmpSpellsIt(JobVerb verb, string name)
    {
        Assert.Equal(
            $"Job 'stream-vda' in state 'concluded' cannot accept command verb '{name}'",
            JobTransitions.VerbRefused(new JobId("stream-vda"), Concluded, verb));
    }
}
