using DeepSeek.Search.Rag.Evaluation;

namespace DeepSeek.Search.Rag.Training;

/// <summary>Which source a training answer cites: the gold passage, another source holding the answer, or none (the not-in-sources answer).</summary>
public enum ReaderTargetKind { Gold, Other, NotInSources }

/// <summary>The answer one training prompt is taught: its text (the answer and its citation) and which kind of source it cites.</summary>
public sealed record ReaderTarget(string Response, ReaderTargetKind Kind, int? Cited);

/// <summary>
/// The answer a reader is taught for a question and the sources its prompt gave (the prompt of <see cref="RagAnswerer.PrepareAsync"/>):
/// the first gold answer followed by the citation <c>[n]</c> of the source it is read from — the first source of a gold passage
/// whose quoted text holds a gold answer, else the first other source that holds one (SQuAD's normalised containment,
/// <see cref="AnswerScoring.ContainsAnswer"/>), else the sentence the default instructions ask for when the sources do not
/// contain the answer (<see cref="NotInSources"/>), uncited.
/// </summary>
public static class ReaderExamples
{
    /// <summary>The taught answer when no source holds a gold answer (the default instructions' wording).</summary>
    public const string NotInSources = "The sources do not contain the answer.";

    public static ReaderTarget Target(RagQuestion question, IReadOnlyList<RagSource> sources)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(sources);
        if (question.Answers.Count == 0) throw new ArgumentException($"question {question.Id} has no gold answer", nameof(question));
        var holding = sources.Where(s => AnswerScoring.ContainsAnswer(s.Passage, question.Answers)).ToList();
        var gold = holding.FirstOrDefault(s => question.GoldDocuments.Contains(s.DocumentId));
        var cited = gold ?? holding.FirstOrDefault();
        if (cited is null) return new ReaderTarget(NotInSources, ReaderTargetKind.NotInSources, null);
        // the answer as the source spells it, when it does: a gold answer found in the cited passage, else the first
        string answer = question.Answers.FirstOrDefault(a => AnswerScoring.ContainsAnswer(cited.Passage, [a])) ?? question.Answers[0];
        return new ReaderTarget($"{answer.Trim()} [{cited.Number}]", gold is null ? ReaderTargetKind.Other : ReaderTargetKind.Gold, cited.Number);
    }
}
