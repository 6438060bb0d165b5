namespace DeepSeek.Search.Train;

/// <summary>
/// A progress report of <see cref="Trainer"/>. Stages: <c>prepare</c> (a message), <c>mine</c> (BM25 candidates: Done of Total
/// queries), <c>mlm</c> (masked-LM pretraining: Done of Total steps, loss and learning rate, sequences/s in
/// <see cref="PairsPerSecond"/>), <c>train</c> (Done of Total steps, with the loss averaged since the previous report, learning rate, temperature and
/// pairs/s), <c>eval</c> (dev scores), <c>checkpoint</c> and <c>done</c>.
/// </summary>
public sealed record TrainProgress(string Stage, long Done, long Total, string? Message = null, int Epoch = 0, double? Loss = null,
    double? LearningRate = null, double? Temperature = null, double? PairsPerSecond = null, DevScores? Dev = null);
