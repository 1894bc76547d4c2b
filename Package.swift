// swift-tools-version:6.0
import PackageDescription

// BLAS comes from the system: Accelerate on Apple platforms, OpenBLAS (found with pkg-config) elsewhere.
let blasDependencies: [Target.Dependency] = [
    .target(name: "CBLAS", condition: .when(platforms: [.linux, .windows, .android, .openbsd])),
]

let package = Package(
    name: "OPTIML",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "optiml", targets: ["optiml"]),
        .library(name: "OPTModel", targets: ["OPTModel"]),
        .library(name: "OPTTokenizer", targets: ["OPTTokenizer"]),
        .library(name: "OPTBench", targets: ["OPTBench"]),
        .library(name: "OPTTemplate", targets: ["OPTTemplate"]),
        .library(name: "OPTData", targets: ["OPTData"]),
        .library(name: "OPTEval", targets: ["OPTEval"]),
        .library(name: "OPTTrain", targets: ["OPTTrain"]),
        .library(name: "OPTServe", targets: ["OPTServe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        // The evaluation backend's HTTP client: requests with deadlines on NIO's event loops, no URLSession.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // Hummingbird runs on it already; the engine is one of the application's services.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
        // Hummingbird's own: the server closes a connection's input behind a completion (NIOCore's Channel).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(name: "CKernels"),
        .target(
            name: "OPTKernels",
            dependencies: blasDependencies + ["CKernels"]
        ),
        .target(name: "OPTTokenizer", dependencies: ["OPTSupport", .product(name: "HeapModule", package: "swift-collections")]),
        // What several targets share: content and stable hashes, the seeded generator, Python's text semantics.
        .target(name: "OPTSupport", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // The Jinja2 dialect of PromptSource and lm-evaluation-harness: parse once, render many rows.
        .target(name: "OPTTemplate", dependencies: ["OPTData", "OPTSupport"]),
        // Dataset files as rows: JSONL, JSON, CSV/TSV and Hugging Face Arrow files (memory-mapped).
        .target(name: "OPTData", dependencies: ["OPTSupport"]),
        .target(name: "OPTCheckpoint", dependencies: ["OPTSupport"]),
        .target(
            name: "OPTModel",
            dependencies: ["OPTKernels", "OPTTokenizer", "OPTCheckpoint", "OPTSupport", "CKernels"]
        ),
        .target(
            name: "OPTBench",
            dependencies: [
                "OPTTokenizer", "OPTTemplate", "OPTData", "OPTSupport",
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.process("Resources")]
        ),
        // The metrics and Super-NI's evaluation script, usable without the inference engine.
        .target(name: "OPTMetrics", dependencies: ["OPTTokenizer", "OPTSupport"]),
        .target(
            name: "OPTEval",
            dependencies: [
                "OPTTokenizer", "OPTBench", "OPTTemplate", "OPTModel", "OPTCheckpoint", "OPTKernels", "OPTSupport", "OPTMetrics", "OPTOpenAI",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .target(
            name: "OPTTrain",
            dependencies: [
                "OPTModel", "OPTKernels", "OPTCheckpoint", "OPTTokenizer", "OPTBench", "OPTSupport", "CKernels",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // OpenAI's completions wire format, shared by the server and the evaluation backend.
        .target(name: "OPTOpenAI"),
        .target(
            name: "OPTServe",
            dependencies: [
                "OPTModel", "OPTTokenizer", "OPTOpenAI", "OPTSupport", "CKernels",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "optiml",
            dependencies: [
                "OPTModel",
                "OPTBench",
                "OPTData",
                "OPTEval",
                "OPTMetrics",
                "OPTTrain",
                "OPTServe",
                "OPTSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Where the tests' fixtures and the shared data are, for every test target.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "CKernelsTests", dependencies: ["CKernels"]),
        .testTarget(name: "OPTTokenizerTests", dependencies: ["TestSupport", "OPTTokenizer"]),
        .testTarget(name: "OPTTemplateTests", dependencies: ["TestSupport", "OPTTemplate", "OPTData", "OPTSupport"]),
        .testTarget(name: "OPTDataTests", dependencies: ["TestSupport", "OPTData"]),
        .testTarget(name: "OPTSupportTests", dependencies: ["OPTSupport"]),
        .testTarget(name: "OPTCheckpointTests", dependencies: ["TestSupport", "OPTCheckpoint", "OPTSupport"]),
        .testTarget(name: "OPTModelTests", dependencies: ["TestSupport", "OPTModel"]),
        .testTarget(name: "OPTBenchTests", dependencies: ["TestSupport", "OPTBench", "OPTTokenizer", "OPTTemplate", "OPTData", "OPTSupport"]),
        .testTarget(
            name: "OPTTrainTests",
            dependencies: ["TestSupport", "OPTTrain", "OPTModel", "OPTKernels", "OPTBench", "OPTCheckpoint", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "OPTServeTests",
            dependencies: [
                "TestSupport", "OPTServe", "OPTModel", "OPTEval", "OPTOpenAI", "OPTTokenizer", "OPTSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Runs the built optiml executable (killing it mid-run); it links none of the modules but the seeded generator's.
        .testTarget(name: "OptimlCLITests", dependencies: ["TestSupport", "OPTSupport"]),
        // The pipeline test runs every stage (bench, eval, tune, report) through the libraries, hence OPTTrain.
        .testTarget(
            name: "OPTEvalTests",
            dependencies: ["TestSupport", "OPTEval", "OPTMetrics", "OPTTokenizer", "OPTBench", "OPTModel", "OPTCheckpoint", "OPTKernels", "OPTTrain"]
        ),
    ]
)
