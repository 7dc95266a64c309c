using Xunit;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// Fault rules are process-wide: the classes that set them share this collection so they never run at once
/// (and each one's Clear cannot remove another's rules). Their images carry unique name prefixes so that the
/// rules never match a file of a test in another collection.
/// </summary>
[CollectionDefinition(Name)]
public sealed class FaultInjectionCollection
{
    public const string Name = "fault-injection";
}
