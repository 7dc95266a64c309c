namespace Orchestrator.Domain;

/// <summary>The stable manifest of an <see cref="IWireMessage"/> type (for example "disk.registered.v1"); never rename one that was written.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class WireNameAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}
