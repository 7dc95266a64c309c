namespace Orchestrator.Node;

/// <summary>A setting of the node is missing or invalid; the message names the flag and the configuration key.</summary>
public sealed class NodeConfigurationException(string option, string message) : Exception(message)
{
    /// <summary>The configuration key (as in appsettings.json) of the offending setting.</summary>
    public string Option { get; } = option;
}
