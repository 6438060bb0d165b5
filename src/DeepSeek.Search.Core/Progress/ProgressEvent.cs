namespace DeepSeek.Search.Core.Progress;

/// <summary>
/// A progress event of long work (an index build, a training run). Libraries report subtypes of these three kinds through
/// <see cref="IProgress{T}"/>; the CLI renders every kind in one place: a live bar per counted stage on an interactive terminal,
/// plain lines on stderr when redirected.
/// </summary>
public abstract record ProgressEvent;

/// <summary>One line of narration: what the work is doing, or what it decided.</summary>
public record ProgressNote(string Message) : ProgressEvent
{
    /// <summary>
    /// Whether a terminal shows this line too (false: a log line only, for what the live bars already show, e.g. a checkpoint
    /// written during a training bar, or the end of a counted stage whose log shows no counts).
    /// </summary>
    public virtual bool Live => true;
}

/// <summary>
/// Counted work: <paramref name="Done"/> of <paramref name="Total"/> units of stage <paramref name="Stage"/> (Total 0: not known yet).
/// On a terminal a bar per stage; in a log a line at its first report, at every 10% of a known total and at each doubling of an
/// unknown one, unless <see cref="Logged"/> is false (then the stage reports its end with a <see cref="ProgressNote"/> of its own).
/// </summary>
public record ProgressCount(string Stage, long Done, long Total) : ProgressEvent
{
    /// <summary>Whether a log (redirected output) shows this stage's counts.</summary>
    public virtual bool Logged => true;

    /// <summary>The bar's label on a terminal.</summary>
    public virtual string Label => Stage;
}

/// <summary>
/// One step of an iterative job (a training step, an evaluation): the position <paramref name="Done"/> of
/// <paramref name="Total"/> of its bar (<paramref name="Stage"/>), <see cref="Summary"/> as the bar's description on a terminal, and
/// <see cref="Line"/>, printed on every report in a log (and on a terminal when <see cref="Echo"/>).
/// </summary>
public abstract record ProgressStep(string Stage, long Done, long Total) : ProgressCount(Stage, Done, Total)
{
    /// <summary>The line a log shows for this step (without indentation).</summary>
    public abstract string Line { get; }

    /// <summary>The bar's description on a terminal.</summary>
    public virtual string Summary => Line;

    /// <summary>Whether a terminal also prints <see cref="Line"/> above the bars.</summary>
    public virtual bool Echo => false;

    /// <summary>Whether this step moves a bar (false: a line only, e.g. an evaluation).</summary>
    public virtual bool HasBar => true;
}
