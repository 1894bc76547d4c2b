import Foundation

/// One train/eval task pair whose instances overlap.
public struct LeakagePair: Codable, Sendable, Equatable {
    public var trainTask: String
    public var evalTask: String
    /// Evaluation instances that share at least one n-gram with the training task's instances.
    public var sharedInstances: Int
    public var evalInstances: Int
    public var fraction: Double
    /// The first such evaluation instance, for inspection.
    public var exampleInstance: String

    enum CodingKeys: String, CodingKey {
        case fraction
        case trainTask = "train_task", evalTask = "eval_task", sharedInstances = "shared_instances"
        case evalInstances = "eval_instances", exampleInstance = "example_instance"
    }
}

/// The audit's findings and what it cost.
public struct LeakageReport: Codable, Sendable, Equatable {
    public var ngram: Int
    public var threshold: Double
    /// Pairs above the threshold, most overlapping first.
    public var pairs: [LeakagePair]
    public var trainTasks: Int
    public var evalTasks: Int
    public var evalInstances: Int
    /// Words read on each side (n-grams are counted over words).
    public var trainWords: Int
    public var evalWords: Int
    /// Time the audit took (not stored, so that a bench's files depend only on its inputs).
    public var seconds: Double = 0

    enum CodingKeys: String, CodingKey {
        case ngram, threshold, pairs
        case trainTasks = "train_tasks", evalTasks = "eval_tasks", evalInstances = "eval_instances"
        case trainWords = "train_words", evalWords = "eval_words"
    }
}

/// The paper's n-gram audit: for every (training task, evaluation task) pair, the share of evaluation
/// instances that share any n-gram (13 words) with the training task's instances. Evaluation
/// instances (validation and test, level 3 included) go into a hash index of their n-grams; each
/// training instance is streamed once against it, so the cost is linear in the text, not in pairs.
public struct LeakageAudit: Sendable {
    public var ngram: Int
    public var threshold: Double

    public init(ngram: Int = 13, threshold: Double = 0.01) {
        self.ngram = ngram
        self.threshold = threshold
    }

    /// `instances` gives a task's split instances (reading them again where the task does not hold them), one
    /// task at a time, so that only the evaluation side's n-grams stay in memory.
    public func run(tasks: [BenchTask], assignments: [String: TaskAssignment],
                    instances: (BenchTask) throws -> [TaskInstance] = { $0.instances }) rethrows -> LeakageReport {
        let start = Date()
        // Evaluation instances, numbered; their n-gram hashes point back to them.
        var evalTaskOf: [Int32] = [], evalInstanceID: [String] = [], evalTaskNames: [String] = [], evalTaskSize: [Int] = []
        var index: [UInt64: [Int32]] = [:]
        var evalWords = 0
        for task in tasks where assignments[task.id]?.role != .excluded {
            let evaluated = try instances(task).filter { $0.split == .validation || $0.split == .test }
            guard !evaluated.isEmpty else { continue }
            let taskNumber = Int32(evalTaskNames.count)
            evalTaskNames.append(task.id)
            evalTaskSize.append(evaluated.count)
            for instance in evaluated {
                let number = Int32(evalTaskOf.count)
                evalTaskOf.append(taskNumber)
                evalInstanceID.append(instance.id)
                var seen = Set<UInt64>()
                evalWords += forEachNgram(of: instance) { hash in
                    if seen.insert(hash).inserted { index[hash, default: []].append(number) }
                }
            }
        }
        var pairs: [LeakagePair] = [], trainWords = 0, trainTasks = 0
        for task in tasks where assignments[task.id]?.role == .train {
            trainTasks += 1
            var hit = Set<Int32>()
            for instance in try instances(task) where instance.split == .train {
                trainWords += forEachNgram(of: instance) { hash in
                    if let postings = index[hash] { hit.formUnion(postings) }
                }
            }
            var byTask: [Int32: (count: Int, first: Int32)] = [:]
            for number in hit.sorted() {
                let evalTask = evalTaskOf[Int(number)]
                guard evalTaskNames[Int(evalTask)] != task.id else { continue }  // its own level-3 instances
                byTask[evalTask, default: (0, number)].count += 1
            }
            for (evalTask, found) in byTask {
                let fraction = Double(found.count) / Double(evalTaskSize[Int(evalTask)])
                guard fraction > threshold else { continue }
                pairs.append(LeakagePair(trainTask: task.id, evalTask: evalTaskNames[Int(evalTask)], sharedInstances: found.count,
                                         evalInstances: evalTaskSize[Int(evalTask)], fraction: fraction,
                                         exampleInstance: evalInstanceID[Int(found.first)]))
            }
        }
        pairs.sort { ($1.fraction, $0.trainTask, $0.evalTask) < ($0.fraction, $1.trainTask, $1.evalTask) }
        return LeakageReport(ngram: ngram, threshold: threshold, pairs: pairs, trainTasks: trainTasks, evalTasks: evalTaskNames.count,
                             evalInstances: evalTaskOf.count, trainWords: trainWords, evalWords: evalWords,
                             seconds: Date().timeIntervalSince(start))
    }

    /// Calls `body` with the hash of every n-gram of the instance's input and of each output (n-grams
    /// never span two texts); returns the number of words read.
    @discardableResult
    func forEachNgram(of instance: TaskInstance, _ body: (UInt64) -> Void) -> Int {
        var words = forEachNgram(in: instance.input, body)
        for output in instance.outputs { words += forEachNgram(in: output, body) }
        return words
    }

    /// Words are maximal runs of ASCII letters and digits (lowercased) or of non-ASCII bytes; an n-gram's
    /// hash is a polynomial over its words' FNV-1a hashes, rolled in O(1) a word.
    func forEachNgram(in text: String, _ body: (UInt64) -> Void) -> Int {
        let base: UInt64 = 0x100_0000_01b3 | 1
        var basePower: UInt64 = 1
        for _ in 1..<max(ngram, 1) { basePower = basePower &* base }
        var window = [UInt64](repeating: 0, count: ngram)
        var rolling: UInt64 = 0, words = 0
        var word: UInt64 = 0xcbf2_9ce4_8422_2325, inWord = false
        func endWord() {
            let slot = words % ngram
            if words >= ngram { rolling = rolling &- window[slot] &* basePower }
            rolling = rolling &* base &+ word
            window[slot] = word
            words += 1
            if words >= ngram { body(rolling) }
            word = 0xcbf2_9ce4_8422_2325
            inWord = false
        }
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            var b = byte
            let isWordByte: Bool
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), 0x80...: isWordByte = true
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): isWordByte = true; b = byte | 0x20
            default: isWordByte = false
            }
            if isWordByte {
                word = (word ^ UInt64(b)) &* 0x100_0000_01b3
                inWord = true
            } else if inWord {
                endWord()
            }
        }
        if inWord { endWord() }
        return words
    }
}
