namespace Orchestrator.Domain;

/// <summary>Marker for every persisted event. Events cross the process boundary (the journal), so they are wire messages.</summary>
public interface IDomainEvent : IWireMessage;
