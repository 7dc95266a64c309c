using System.Text.Json.Serialization;

namespace Orchestrator.Contracts;

/// <summary>The URIs a VM or qemu-io attaches to a disk with: the node's Unix socket always, TCP when the node serves it.</summary>
public sealed record NbdView(string Unix, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Tcp);
