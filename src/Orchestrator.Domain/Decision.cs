namespace Orchestrator.Domain;

/// <summary>What a pure Decide function returns: the events to persist, or why the command was refused.</summary>
public sealed record Decision<TEvent>(IReadOnlyList<TEvent> Events, DomainError? Error)
{
    public bool Refused => Error is not null;

    public static Decision<TEvent> Accept(params TEvent[] events) => new(events, null);

    public static Decision<TEvent> Refuse(DomainError error) => new([], error);
}
