using Orchestrator.Domain.Fleet;

namespace Orchestrator.Domain.Tests;

/// <summary>A job id's fleet-wide owner as pure decisions: one holder at a time, named in a refusal, stale ones replaceable.</summary>
public sealed class JobIdOwnershipTests
{
    private static readonly JobIdHolder D1OnN1 = new("n1", "d1");
    private static readonly JobIdHolder D2OnN2 = new("n2", "d2");

    private static JobIdOwnership HeldBy(JobIdHolder holder) =>
        JobIdOwnership.Free.DecideClaim("j", holder).Events.Aggregate(JobIdOwnership.Free, (s, e) => s.Apply(e));

    [Fact]
    public void A_free_id_is_claimed_and_a_repeated_claim_by_its_holder_changes_nothing()
    {
        var held = HeldBy(D1OnN1);
        Assert.Equal(D1OnN1, held.Holder);
        var again = held.DecideClaim("j", D1OnN1);
        Assert.False(again.Refused);
        Assert.Empty(again.Events);
    }

    [Fact]
    public void Another_disks_claim_is_refused_naming_the_holder_and_its_host()
    {
        var refused = HeldBy(D1OnN1).DecideClaim("j", D2OnN2);
        Assert.True(refused.Refused);
        Assert.Equal("conflict", refused.Error!.Code);
        Assert.Contains("disk 'd1' on host n1", refused.Error.Message);
    }

    [Fact]
    public void A_holder_shown_stale_is_replaced_but_only_that_holder()
    {
        var replaced = HeldBy(D1OnN1).DecideClaim("j", D2OnN2, stale: D1OnN1);
        Assert.Equal(D2OnN2, replaced.Events.Aggregate(HeldBy(D1OnN1), (s, e) => s.Apply(e)).Holder);
        Assert.True(HeldBy(D1OnN1).DecideClaim("j", D2OnN2, stale: new JobIdHolder("n1", "other")).Refused);
    }

    [Fact]
    public void Only_the_holder_frees_the_id_a_late_release_of_an_earlier_holder_is_ignored()
    {
        Assert.Empty(HeldBy(D2OnN2).DecideRelease(D1OnN1).Events);
        var freed = HeldBy(D2OnN2).DecideRelease(D2OnN2).Events.Aggregate(HeldBy(D2OnN2), (s, e) => s.Apply(e));
        Assert.Null(freed.Holder);
        Assert.Equal(freed, JobIdSnapshot.Of(freed).ToOwnership());
        Assert.Equal(D2OnN2, JobIdSnapshot.Of(HeldBy(D2OnN2)).ToOwnership().Holder);
    }
}
