namespace Orchestrator.Domain;

/// <summary>Marker for every persisted event: one marker binds the journal serializer.</summary>
public interface IDomainEvent;
