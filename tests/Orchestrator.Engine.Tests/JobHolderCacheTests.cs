using Orchestrator.Domain;
using Orchestrator.Engine.Disks;
using Xunit;

namespace Orchestrator.Engine.Tests;

public sealed class JobHolderCacheTests
{
    [Fact]
    public void A_remembered_holder_is_found_and_the_newest_entry_wins()
    {
        var cache = new JobHolderCache();
        Assert.Null(cache.HolderOf(new JobId("j1")));
        cache.Remember(new JobId("j1"), new DiskId("d1"));
        cache.Remember(new JobId("j1"), new DiskId("d2"));
        Assert.Equal(new DiskId("d2"), cache.HolderOf(new JobId("j1")));
    }

    [Fact]
    public void Forgetting_a_stale_holder_keeps_a_newer_one()
    {
        var cache = new JobHolderCache();
        cache.Remember(new JobId("j1"), new DiskId("d2"));

        // A task that found d1 stale forgets only d1: the id has meanwhile been seen on d2.
        cache.Forget(new JobId("j1"), new DiskId("d1"));
        Assert.Equal(new DiskId("d2"), cache.HolderOf(new JobId("j1")));

        cache.Forget(new JobId("j1"), new DiskId("d2"));
        Assert.Null(cache.HolderOf(new JobId("j1")));
    }

    [Fact]
    public void The_cache_never_grows_past_its_capacity()
    {
        var cache = new JobHolderCache(capacity: 3);
        for (var i = 0; i < 10; i++)
        {
            cache.Remember(new JobId($"j{i}"), new DiskId("d"));
            Assert.InRange(cache.Count, 1, 3);
        }

        Assert.Equal(new DiskId("d"), cache.HolderOf(new JobId("j9")));
    }
}
