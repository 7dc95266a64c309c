namespace Orchestrator.Domain.Jobs;

/// <summary>QEMU's JobVerb (qapi/job.json).</summary>
public enum JobVerb
{
    Cancel,
    Pause,
    Resume,
    SetSpeed,
    Complete,
    Finalize,
    Dismiss,
}
