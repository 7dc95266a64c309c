using System.Text;
using static Orchestrator.Domain.Jobs.JobStatus;

namespace Orchestrator.Domain.Tests.Jobs;

/// <summary>
/// Random decision sequences, each applied only when not refused: job.c's table must hold at every step, a concluded
/// job must never be live again, and the offset must never go back. Seeds are fixed so a failure reproduces.
/// </summary>
public sealed class JobPropertyTests(ITestOutputHelper output)
{
    private const int Sequences = 400;
    private const int StepsPerSequence = 40;

    private enum Step
    {
        Start,
        Pause,
        Resume,
        SetSpeed,
        NegativeSpeed,
        Cancel,
        CancelStopped,
        Dismiss,
        Checkpoint,
        IoError,
        Succeed,
        Fail,
    }

    /// <summary>The engine's contract: checkpoints and I/O errors only come from the copy loop, which runs only while ShouldCopy.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(42)]
    [InlineData(20240607)]
    [InlineData(987654321)]
    public void RandomVerbsWithEngineStepsWhileCopyingKeepQemusRules(int seed) => Run(seed, engineStepsOnlyWhileCopying: true);

    /// <summary>Any decision at any time: a decision that cannot be applied must be refused, not accepted.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(42)]
    [InlineData(20240607)]
    [InlineData(987654321)]
    public void RandomDecisionsInAnyOrderKeepQemusRules(int seed) => Run(seed, engineStepsOnlyWhileCopying: false);

    private void Run(int seed, bool engineStepsOnlyWhileCopying)
    {
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        for (var sequence = 0; sequence < Sequences; sequence++)
        {
            var policy = (OnErrorPolicy)random.Next(Enum.GetValues<OnErrorPolicy>().Length);
            var autoDismiss = random.Next(2) == 0;
            var job = TestJobs.NewJob(policy, autoDismiss, speed: random.Next(3) * 1024);
            var trace = new StringBuilder($"seed {seed}, sequence {sequence}, on-error {policy}, auto-dismiss {autoDismiss}\n");
            var concluded = false;

            for (var i = 0; i < StepsPerSequence && job.Status != Null; i++)
            {
                var step = (Step)random.Next(Enum.GetValues<Step>().Length);
                var copyStep = step is Step.Checkpoint or Step.IoError;
                if (engineStepsOnlyWhileCopying && copyStep && !job.ShouldCopy)
                {
                    continue;
                }

                var decision = Decide(job, step, random);
                trace.Append($"  {job.Status}{(job.UserPaused ? "+user-paused" : "")} {step}: ");
                if (decision.Refused)
                {
                    trace.Append($"refused ({decision.Error!.Message})\n");
                    continue;
                }

                trace.Append(string.Join(", ", decision.Events.Select(e => e is JobStatusChanged s ? s.Status.ToString() : e.GetType().Name))).Append('\n');
                var before = job;
                try
                {
                    job = job.ApplyAll(decision.Events);
                }
                catch (InvalidOperationException e)
                {
                    Assert.Fail($"{e.Message}\n{trace}");
                }

                Assert.True(job.Offset >= before.Offset, $"offset went back from {before.Offset} to {job.Offset}\n{trace}");
                if (concluded)
                {
                    Assert.True(job.Status is Concluded or Null && !job.IsLive, $"a concluded job became {job.Status}\n{trace}");
                }

                concluded |= job.Status is Concluded or Null;
            }
        }
    }

    private static Decision<JobEvent> Decide(Job job, Step step, Random random) => step switch
    {
        Step.Start => job.Start(),
        Step.Pause => job.Pause(),
        Step.Resume => job.Resume(),
        Step.SetSpeed => job.SetSpeed(random.Next(4) * 4096),
        Step.NegativeSpeed => job.SetSpeed(-1 - random.Next(100)),
        Step.Cancel => job.Cancel(),
        Step.CancelStopped => job.CancelStopped(),
        Step.Dismiss => job.Dismiss(),
        Step.Checkpoint => job.Checkpoint(random.NextInt64(TestJobs.Length + 1)),
        Step.IoError => job.IoError("Input/output error", random.Next(2) == 0 ? IoOperation.Read : IoOperation.Write, noSpace: random.Next(2) == 0),
        Step.Succeed => job.Succeed(),
        Step.Fail => job.Fail("Input/output error"),
        _ => throw new ArgumentOutOfRangeException(nameof(step)),
    };
}
