using Orchestrator.Testing;

namespace Orchestrator.Crash.Tests;

/// <summary>Seeds: one base seed per test (ORCH_TEST_SEED or random), and per-iteration seeds derived from it.</summary>
internal static class Seeds
{
    public static int Base() => RandomChainBuilder.ChooseSeed();

    /// <summary>A seed for one part of a test; stable for a given base seed, so ORCH_TEST_SEED replays every part.</summary>
    public static int Derive(int baseSeed, params int[] parts)
    {
        var h = (ulong)(uint)baseSeed;
        foreach (var part in parts)
        {
            h = (h ^ (uint)part) * 0x100000001B3UL;
            h ^= h >> 29;
        }

        return (int)(h & 0x7FFFFFFF);
    }
}
