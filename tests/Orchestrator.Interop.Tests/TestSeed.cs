using Orchestrator.Testing;
using Xunit.Abstractions;

namespace Orchestrator.Interop.Tests;

/// <summary>
/// One seed for the whole run (ORCH_TEST_SEED or a fresh one), so a single value printed by any failing
/// test replays every randomised test of the project.
/// </summary>
public static class TestSeed
{
    public static int Value { get; } = RandomChainBuilder.ChooseSeed();

    /// <summary>Prints the seed to the test output and returns it.</summary>
    public static int Announce(ITestOutputHelper output)
    {
        output.WriteLine($"seed={Value} (set {RandomChainBuilder.SeedVariable}={Value} to reproduce)");
        return Value;
    }

    /// <summary>A generator for one test case: deterministic in the seed and the case, different across cases.</summary>
    public static Random ForCase(int caseId) => new(unchecked((Value * 7919) + caseId));

    /// <summary>The prefix of every assertion message.</summary>
    public static string Tag(int caseId) => $"[seed={Value} case={caseId}; {RandomChainBuilder.SeedVariable}={Value} reproduces]";
}
