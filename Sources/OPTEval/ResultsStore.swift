import Foundation
import GRDB
import OPTSupport

/// One evaluation run: which model was evaluated on which bench with which settings, and its
/// aggregated results once it finished.
public struct RunRecord: Codable, Sendable, Equatable {
    /// The run's id in the store; nil until `ResultsStore.beginRun` has stored it.
    public var id: Int64?
    /// The model directory or name.
    public var model: String
    /// The hash of `modelIdentity`, given by the caller: a run resumes only under the same one.
    public var modelHash: String
    /// JSON of what decided the answers (`ModelIdentity.json`: weights' content hash, format, kernels, …).
    public var modelIdentity: String
    /// The sha256 of the bench manifest.
    public var benchHash: String
    /// JSON text of the run's settings (levels, shots, style, seed, limit, …). Runs are matched by
    /// this text exactly, so write it canonically (sorted keys).
    public var settings: String
    /// The git revision of the optiml checkout, when known.
    public var gitRevision: String?
    /// When the run began.
    public var startedAt: Date
    /// When the run finished; nil while it is unfinished (and so resumable).
    public var finishedAt: Date?
    /// The aggregated results as JSON text, once finished.
    public var resultsJSON: String?

    /// A run record; `id` stays nil until the store assigns it.
    public init(
        id: Int64? = nil, model: String, modelHash: String, modelIdentity: String = "{}", benchHash: String, settings: String,
        gitRevision: String? = nil, startedAt: Date, finishedAt: Date? = nil, resultsJSON: String? = nil
    ) {
        self.id = id
        self.model = model
        self.modelHash = modelHash
        self.modelIdentity = modelIdentity
        self.benchHash = benchHash
        self.settings = settings
        self.gitRevision = gitRevision
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.resultsJSON = resultsJSON
    }
}

/// The model's answer to one request, cached across runs so that a repeated or interrupted
/// evaluation of the same model asks the model only once.
public struct CachedResponse: Codable, Sendable, Equatable {
    /// The hash of (model hash, request), computed by the caller; the cache's key.
    public var key: String
    /// The request type: `"loglikelihood"` or `"generate"`.
    public var kind: String
    /// For a log-likelihood request, the summed log-probability of the continuation. SQLite
    /// stores NaN as NULL, so a NaN comes back as nil.
    public var logprob: Double?
    /// For a log-likelihood request, whether the continuation is the greedy one.
    public var isGreedy: Bool?
    /// The continuation's tokens (log-likelihood) or the generated tokens (generate).
    public var tokenCount: Int?
    /// For a generate request, the generated text.
    public var text: String?

    /// A cached response.
    public init(key: String, kind: String, logprob: Double? = nil, isGreedy: Bool? = nil, tokenCount: Int? = nil, text: String? = nil) {
        self.key = key
        self.kind = kind
        self.logprob = logprob
        self.isGreedy = isGreedy
        self.tokenCount = tokenCount
        self.text = text
    }
}

/// One scored instance of a run; (runID, task, instanceID, shots) identifies it.
public struct SampleRecord: Codable, Sendable, Equatable {
    /// The id of the run it belongs to.
    public var runID: Int64
    /// The task's name.
    public var task: String
    /// The instance's id within the task.
    public var instanceID: String
    /// The number of demonstrations in the prompt.
    public var shots: Int
    /// The bench's evaluation level, when the run has levels.
    public var level: Int?
    /// The prompt as given to the model.
    public var prompt: String
    /// The model's prediction (generated text or chosen candidate).
    public var prediction: String
    /// The reference answers (stored as JSON text).
    public var references: [String]
    /// The instance's scores by metric name, e.g. `["acc": 1, "acc_norm": 0]` (stored as JSON text).
    public var metrics: [String: Double]
    /// The right answer as the prediction would spell it (a multiple-choice option, a suite's target); nil when
    /// only references apply.
    public var gold: String?
    /// Each option's log-likelihood, for multiple choice.
    public var loglikelihoods: [Double]?

    /// A sample record.
    public init(
        runID: Int64, task: String, instanceID: String, shots: Int, level: Int? = nil,
        prompt: String, prediction: String, references: [String], metrics: [String: Double],
        gold: String? = nil, loglikelihoods: [Double]? = nil
    ) {
        self.runID = runID
        self.task = task
        self.instanceID = instanceID
        self.shots = shots
        self.level = level
        self.prompt = prompt
        self.prediction = prediction
        self.references = references
        self.metrics = metrics
        self.gold = gold
        self.loglikelihoods = loglikelihoods
    }
}

/// Why the results store failed. Every case names the database file.
public enum ResultsStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The folder that should hold the database file could not be created.
    case cannotCreateFolder(path: String, folder: String, reason: String)
    /// The file could not be opened or set up as a results database (a directory, an unwritable
    /// location, a file that is not SQLite).
    case cannotOpen(path: String, reason: String)
    /// The file was migrated by a newer version of the store, with migrations this one does not know.
    case newerSchema(path: String, unknownMigrations: [String])
    /// A query or an update failed (`operation` says which).
    case databaseFailure(path: String, operation: String, reason: String)
    /// No run has this id.
    case unknownRun(path: String, id: Int64)
    /// A JSON column (references, metrics) could not be encoded or decoded.
    case invalidValue(path: String, reason: String)
    /// The JSON Lines export could not be written to `file`.
    case cannotExport(path: String, file: String, reason: String)

    /// The database file the error is about.
    public var path: String {
        switch self {
        case let .cannotCreateFolder(path, _, _), let .cannotOpen(path, _), let .newerSchema(path, _),
             let .databaseFailure(path, _, _), let .unknownRun(path, _), let .invalidValue(path, _),
             let .cannotExport(path, _, _):
            return path
        }
    }

    /// A one-line explanation naming the file.
    public var description: String {
        switch self {
        case let .cannotCreateFolder(path, folder, reason):
            return "\(path): cannot create the folder \(folder): \(reason)"
        case let .cannotOpen(path, reason):
            return "\(path): cannot open the results database: \(reason)"
        case let .newerSchema(path, unknown):
            return "\(path): the results database was made by a newer version (unknown migrations: \(unknown.joined(separator: ", ")))"
        case let .databaseFailure(path, operation, reason):
            return "\(path): \(operation) failed: \(reason)"
        case let .unknownRun(path, id):
            return "\(path): no run with id \(id)"
        case let .invalidValue(path, reason):
            return "\(path): invalid stored value: \(reason)"
        case let .cannotExport(path, file, reason):
            return "\(path): cannot export samples to \(file): \(reason)"
        }
    }
}

/// The evaluation results store: runs, their scored samples and the global response cache, in one
/// SQLite file.
///
/// Tables (migration `"v1"`): `runs`, `samples` (key run_id, task, shots, instance_id) and
/// `responses` (key `key`). Dates are REAL seconds since 2001-01-01 00:00:00 UTC (Foundation's
/// reference date, which round-trips a `Date` exactly). Every method is synchronous and may be
/// called from any thread; several stores, in this process or others, may use the same file.
public final class ResultsStore: Sendable {
    /// The database file.
    public let path: URL
    private let queue: DatabaseQueue
    private var file: String { path.path }

    /// How many keys one `IN (…)` lookup binds (below every SQLite build's variable limit).
    private static let lookupChunk = 500

    /// Opens the results database at `path`, creating the file and its folders when missing, and
    /// migrates it to the current schema.
    public init(path: URL) throws(ResultsStoreError) {
        self.path = path.standardizedFileURL
        let file = self.path.path
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
            throw .cannotOpen(path: file, reason: "it is a directory")
        }
        let folder = self.path.deletingLastPathComponent()
        do {
            try fileManager.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw .cannotCreateFolder(path: file, folder: folder.path, reason: Self.folderFailure(folder, error))
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // Another store (or process) may hold the write lock for a moment.
        configuration.busyMode = .timeout(10)
        configuration.label = "OPTEval.ResultsStore"
        do {
            queue = try DatabaseQueue(path: file, configuration: configuration)
        } catch {
            throw .cannotOpen(path: file, reason: Self.reason(error))
        }
        let migrator = Self.migrator
        let unknown: [String]
        do {
            // Read first: a file from a newer version is left untouched.
            let applied = try queue.read { db in try migrator.appliedIdentifiers(db) }
            unknown = applied.subtracting(migrator.migrations).sorted()
            if unknown.isEmpty {
                try migrator.migrate(queue)
            }
        } catch {
            throw .cannotOpen(path: file, reason: Self.reason(error))
        }
        if !unknown.isEmpty {
            throw .newerSchema(path: file, unknownMigrations: unknown)
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    model TEXT NOT NULL,
                    model_hash TEXT NOT NULL,
                    bench_hash TEXT NOT NULL,
                    settings TEXT NOT NULL,
                    git_revision TEXT,
                    started_at REAL NOT NULL,
                    finished_at REAL,
                    results_json TEXT
                );
                CREATE INDEX runs_unfinished ON runs (model_hash, bench_hash, settings) WHERE finished_at IS NULL;
                CREATE TABLE responses (
                    key TEXT NOT NULL PRIMARY KEY,
                    kind TEXT NOT NULL,
                    logprob REAL,
                    is_greedy INTEGER,
                    token_count INTEGER,
                    text TEXT
                ) WITHOUT ROWID;
                CREATE TABLE samples (
                    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                    task TEXT NOT NULL,
                    instance_id TEXT NOT NULL,
                    shots INTEGER NOT NULL,
                    level INTEGER,
                    prompt TEXT NOT NULL,
                    prediction TEXT NOT NULL,
                    references_json TEXT NOT NULL,
                    metrics_json TEXT NOT NULL,
                    PRIMARY KEY (run_id, task, shots, instance_id)
                ) WITHOUT ROWID;
                """)
        }
        // Runs record what decided their answers, not only its hash.
        migrator.registerMigration("v2") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN model_identity TEXT NOT NULL DEFAULT '{}'")
        }
        // Samples keep the right answer and the options' log-likelihoods, as lm-evaluation-harness's do.
        migrator.registerMigration("v3") { db in
            try db.execute(sql: "ALTER TABLE samples ADD COLUMN gold TEXT")
            try db.execute(sql: "ALTER TABLE samples ADD COLUMN loglikelihoods_json TEXT")
        }
        return migrator
    }

    // MARK: Runs

    /// Stores a new run and returns its id (`run.id` is ignored).
    public func beginRun(_ run: RunRecord) throws(ResultsStoreError) -> Int64 {
        try writing("beginRun") { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (model, model_hash, model_identity, bench_hash, settings, git_revision, started_at, finished_at, results_json)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    run.model, run.modelHash, run.modelIdentity, run.benchHash, run.settings, run.gitRevision,
                    run.startedAt.timeIntervalSinceReferenceDate, run.finishedAt?.timeIntervalSinceReferenceDate,
                    run.resultsJSON,
                ])
            return db.lastInsertedRowID
        }
    }

    /// The latest run with the same model hash, bench hash and settings, finished or not, nil when
    /// there is none: a rerun continues it (an interrupted one, or one killed after it finished but
    /// before its results were written out) instead of starting another record of the same evaluation.
    public func matchingRun(modelHash: String, benchHash: String, settings: String) throws(ResultsStoreError) -> RunRecord? {
        try reading("matchingRun") { db in
            try Row.fetchOne(
                db,
                sql: Self.runSelect + " WHERE model_hash = ? AND bench_hash = ? AND settings = ? ORDER BY id DESC LIMIT 1",
                arguments: [modelHash, benchHash, settings]
            ).map(Self.run(from:))
        }
    }

    /// Marks the run finished at `at` with its aggregated results (replacing earlier results of
    /// an already finished run).
    public func finishRun(id: Int64, resultsJSON: String, at: Date) throws(ResultsStoreError) {
        let file = self.file
        try writing("finishRun") { db in
            try db.execute(
                sql: "UPDATE runs SET finished_at = ?, results_json = ? WHERE id = ?",
                arguments: [at.timeIntervalSinceReferenceDate, resultsJSON, id])
            if db.changesCount == 0 {
                throw ResultsStoreError.unknownRun(path: file, id: id)
            }
        }
    }

    /// Every run, in the order they began (by id).
    public func runs() throws(ResultsStoreError) -> [RunRecord] {
        try reading("runs") { db in
            try Row.fetchAll(db, sql: Self.runSelect + " ORDER BY id").map(Self.run(from:))
        }
    }

    private static let runSelect =
        "SELECT id, model, model_hash, bench_hash, settings, git_revision, started_at, finished_at, results_json, model_identity FROM runs"

    private static func run(from row: Row) throws -> RunRecord {
        RunRecord(
            id: try row.decode(Int64.self, atIndex: 0),
            model: try row.decode(String.self, atIndex: 1),
            modelHash: try row.decode(String.self, atIndex: 2),
            modelIdentity: try row.decode(String.self, atIndex: 9),
            benchHash: try row.decode(String.self, atIndex: 3),
            settings: try row.decode(String.self, atIndex: 4),
            gitRevision: try row.decode(String?.self, atIndex: 5),
            startedAt: Date(timeIntervalSinceReferenceDate: try row.decode(Double.self, atIndex: 6)),
            finishedAt: try row.decode(Double?.self, atIndex: 7).map(Date.init(timeIntervalSinceReferenceDate:)),
            resultsJSON: try row.decode(String?.self, atIndex: 8))
    }

    // MARK: Response cache

    /// The cached responses among `keys`, by key; a key without a response is absent.
    public func cachedResponses(for keys: [String]) throws(ResultsStoreError) -> [String: CachedResponse] {
        let unique = Array(Set(keys))
        if unique.isEmpty { return [:] }
        return try reading("cachedResponses") { db in
            var found: [String: CachedResponse] = [:]
            found.reserveCapacity(unique.count)
            var start = 0
            while start < unique.count {
                let chunk = unique[start..<min(start + Self.lookupChunk, unique.count)]
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let statement = try db.cachedStatement(
                    sql: "SELECT key, kind, logprob, is_greedy, token_count, text FROM responses WHERE key IN (\(placeholders))")
                let rows = try Row.fetchCursor(statement, arguments: StatementArguments(Array(chunk)))
                while let row = try rows.next() {
                    let response = CachedResponse(
                        key: try row.decode(String.self, atIndex: 0),
                        kind: try row.decode(String.self, atIndex: 1),
                        logprob: try row.decode(Double?.self, atIndex: 2),
                        isGreedy: try row.decode(Bool?.self, atIndex: 3),
                        tokenCount: try row.decode(Int?.self, atIndex: 4),
                        text: try row.decode(String?.self, atIndex: 5))
                    found[response.key] = response
                }
                start += chunk.count
            }
            return found
        }
    }

    /// Caches `responses` in one transaction; a key already cached is replaced (and of repeated
    /// keys in `responses`, the last wins).
    public func store(_ responses: [CachedResponse]) throws(ResultsStoreError) {
        if responses.isEmpty { return }
        try writing("store responses") { db in
            let statement = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO responses (key, kind, logprob, is_greedy, token_count, text) VALUES (?, ?, ?, ?, ?, ?)
                """)
            for response in responses {
                try statement.execute(arguments: [
                    response.key, response.kind, response.logprob, response.isGreedy, response.tokenCount, response.text,
                ])
            }
        }
    }

    // MARK: Samples

    /// Stores `samples` in one transaction; a sample with the (runID, task, instanceID, shots) of
    /// a stored one replaces it. Every runID must be a stored run.
    public func addSamples(_ samples: [SampleRecord]) throws(ResultsStoreError) {
        if samples.isEmpty { return }
        let file = self.file
        try writing("addSamples") { db in
            for runID in Set(samples.map(\.runID)).sorted() {
                if try Int64.fetchOne(db, sql: "SELECT id FROM runs WHERE id = ?", arguments: [runID]) == nil {
                    throw ResultsStoreError.unknownRun(path: file, id: runID)
                }
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(
                positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
            let statement = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO samples (run_id, task, instance_id, shots, level, prompt, prediction, references_json, metrics_json,
                                                gold, loglikelihoods_json)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for sample in samples {
                let references: String
                let metrics: String
                let loglikelihoods: String?
                do {
                    references = String(decoding: try encoder.encode(sample.references), as: UTF8.self)
                    metrics = String(decoding: try encoder.encode(sample.metrics), as: UTF8.self)
                    loglikelihoods = try sample.loglikelihoods.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
                } catch {
                    throw ResultsStoreError.invalidValue(
                        path: file, reason: "sample \(sample.task)/\(sample.instanceID): \(Self.reason(error))")
                }
                try statement.execute(arguments: [
                    sample.runID, sample.task, sample.instanceID, sample.shots, sample.level,
                    sample.prompt, sample.prediction, references, metrics, sample.gold, loglikelihoods,
                ])
            }
        }
    }

    /// The samples of run `runID` ordered by task, shots and instance id (comparing strings by
    /// their UTF-8 bytes); empty for a run without samples or an unknown id.
    public func samples(runID: Int64) throws(ResultsStoreError) -> [SampleRecord] {
        let file = self.file
        return try reading("samples") { db in
            let decoder = Self.sampleDecoder
            var samples: [SampleRecord] = []
            let rows = try Row.fetchCursor(db, sql: Self.sampleSelect, arguments: [runID])
            while let row = try rows.next() {
                samples.append(try Self.sample(from: row, decoder: decoder, file: file))
            }
            return samples
        }
    }

    /// Samples of a run as JSON Lines (one object a line, keys: run_id, task, id (the instance's),
    /// shots, level, prompt, prediction, gold, references, loglikelihoods, metrics), written atomically: to a temporary file
    /// beside `file`, then renamed over it. Lines are in the order of `samples(runID:)`, metrics'
    /// keys sorted; a non-finite metric (NaN, ±infinity, which JSON lacks) is written as null.
    /// Creates `file`'s folders when missing; an unknown run is an error.
    public func exportSamples(runID: Int64, to file: URL) throws(ResultsStoreError) {
        let database = self.file
        let target = file.standardizedFileURL
        let folder = target.deletingLastPathComponent()
        func exportFailure(_ reason: String) -> ResultsStoreError {
            .cannotExport(path: database, file: target.path, reason: reason)
        }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw exportFailure("cannot create the folder \(folder.path): " + Self.folderFailure(folder, error))
        }
        try reading("exportSamples") { db in
            if try Int64.fetchOne(db, sql: "SELECT id FROM runs WHERE id = ?", arguments: [runID]) == nil {
                throw ResultsStoreError.unknownRun(path: database, id: runID)
            }
            let decoder = Self.sampleDecoder
            do {
                try AtomicFile.write(to: target) { handle in
                    var buffer = Data()
                    let rows = try Row.fetchCursor(db, sql: Self.sampleSelect, arguments: [runID])
                    while let row = try rows.next() {
                        let sample = try Self.sample(from: row, decoder: decoder, file: database)
                        buffer.append(contentsOf: Self.jsonLine(sample).utf8)
                        if buffer.count >= 1 << 20 {
                            try handle.write(contentsOf: buffer)
                            buffer.removeAll(keepingCapacity: true)
                        }
                    }
                    try handle.write(contentsOf: buffer)
                }
            } catch let error as ResultsStoreError {
                throw error
            } catch let error as DatabaseError {
                throw error
            } catch let error as AtomicFileError {
                throw exportFailure(error.reason)
            } catch {
                throw exportFailure(Self.reason(error))
            }
        }
    }

    private static let sampleSelect = """
        SELECT run_id, task, instance_id, shots, level, prompt, prediction, references_json, metrics_json, gold, loglikelihoods_json
        FROM samples WHERE run_id = ? ORDER BY task, shots, instance_id
        """

    private static var sampleDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }

    private static func sample(from row: Row, decoder: JSONDecoder, file: String) throws -> SampleRecord {
        let task = try row.decode(String.self, atIndex: 1)
        let instanceID = try row.decode(String.self, atIndex: 2)
        let references: [String]
        let metrics: [String: Double]
        let loglikelihoods: [Double]?
        do {
            references = try decoder.decode([String].self, from: Data(try row.decode(String.self, atIndex: 7).utf8))
            metrics = try decoder.decode([String: Double].self, from: Data(try row.decode(String.self, atIndex: 8).utf8))
            loglikelihoods = try row.decode(String?.self, atIndex: 10).map { try decoder.decode([Double].self, from: Data($0.utf8)) }
        } catch let error as DatabaseError {
            throw error
        } catch {
            throw ResultsStoreError.invalidValue(path: file, reason: "sample \(task)/\(instanceID): \(reason(error))")
        }
        return SampleRecord(
            runID: try row.decode(Int64.self, atIndex: 0),
            task: task,
            instanceID: instanceID,
            shots: try row.decode(Int.self, atIndex: 3),
            level: try row.decode(Int?.self, atIndex: 4),
            prompt: try row.decode(String.self, atIndex: 5),
            prediction: try row.decode(String.self, atIndex: 6),
            references: references,
            metrics: metrics,
            gold: try row.decode(String?.self, atIndex: 9),
            loglikelihoods: loglikelihoods)
    }

    /// One JSON Lines record, keys in the documented order, ending in a newline.
    /// Swift's shortest round-trip spelling of a finite Double is a valid JSON number; JSON has no infinities.
    static func jsonNumber(_ value: Double) -> String { value.isFinite ? "\(value)" : "null" }

    static func jsonLine(_ sample: SampleRecord) -> String {
        var line = "{\"run_id\":\(sample.runID),\"task\":"
        JSONText.appendQuoted(sample.task, to: &line)
        line += ",\"id\":"
        JSONText.appendQuoted(sample.instanceID, to: &line)
        line += ",\"shots\":\(sample.shots),\"level\":"
        line += sample.level.map { String($0) } ?? "null"
        line += ",\"prompt\":"
        JSONText.appendQuoted(sample.prompt, to: &line)
        line += ",\"prediction\":"
        JSONText.appendQuoted(sample.prediction, to: &line)
        line += ",\"gold\":"
        if let gold = sample.gold { JSONText.appendQuoted(gold, to: &line) } else { line += "null" }
        line += ",\"references\":["
        for (index, reference) in sample.references.enumerated() {
            if index > 0 { line += "," }
            JSONText.appendQuoted(reference, to: &line)
        }
        line += "],\"loglikelihoods\":"
        if let loglikelihoods = sample.loglikelihoods {
            line += "[" + loglikelihoods.map(jsonNumber).joined(separator: ",") + "]"
        } else {
            line += "null"
        }
        line += ",\"metrics\":{"
        for (index, name) in sample.metrics.keys.sorted().enumerated() {
            if index > 0 { line += "," }
            JSONText.appendQuoted(name, to: &line)
            line += ":"
            line += sample.metrics[name].map(jsonNumber) ?? "null"
        }
        line += "}}\n"
        return line
    }

    // MARK: Access

    private func reading<T>(_ operation: String, _ body: (Database) throws -> T) throws(ResultsStoreError) -> T {
        do {
            return try queue.read(body)
        } catch {
            throw failure(error, operation: operation)
        }
    }

    private func writing<T>(_ operation: String, _ body: (Database) throws -> T) throws(ResultsStoreError) -> T {
        do {
            return try queue.write(body)
        } catch {
            throw failure(error, operation: operation)
        }
    }

    private func failure(_ error: any Error, operation: String) -> ResultsStoreError {
        if let error = error as? ResultsStoreError { return error }
        return .databaseFailure(path: file, operation: operation, reason: Self.reason(error))
    }

    /// Why `folder` could not be created: Foundation's error often says only "could not be
    /// completed", so look at the nearest existing ancestor.
    private static func folderFailure(_ folder: URL, _ error: any Error) -> String {
        var ancestor = folder
        var isDirectory: ObjCBool = false
        while ancestor.path != "/" && !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
            ancestor.deleteLastPathComponent()
        }
        if ancestor.path != "/" && !isDirectory.boolValue {
            return "\(ancestor.path) is not a folder"
        }
        if !FileManager.default.isWritableFile(atPath: ancestor.path) {
            return "\(ancestor.path) is not writable"
        }
        return reason(error)
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return error.message ?? "SQLite error \(error.extendedResultCode.rawValue)"
        }
        return FileProblem.reason(error)
    }
}
