namespace Orchestrator.Engine.Persistence;

/// <summary>The journal's database has failed every write since <paramref name="Since"/>; the last one with <paramref name="LastError"/>.</summary>
public sealed record JournalOutage(DateTimeOffset Since, string LastError, int Failures)
{
    /// <summary>One line for an operator: since when, and why.</summary>
    public string Describe(DateTimeOffset now) =>
        $"the journal's database has not answered for {(now - Since).TotalSeconds:0} s (since {Since:HH:mm:ss} UTC, {Failures} failed write(s); last: {LastError})";
}
