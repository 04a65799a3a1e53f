// Two tiers: unit specs beside the code (fakes only) and e2e/integration suites in test/ (real Postgres/Redis).
// The Swagger CLI plugin runs as a ts-jest AST transformer so the OpenAPI document in tests equals the built one.
const tsJest = [
  'ts-jest',
  {
    tsconfig: 'tsconfig.json',
    astTransformers: {
      before: ['<rootDir>/test/support/swagger-transformer.js'],
    },
  },
];

const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: { '^.+\\.ts$': tsJest },
  // Shares the host's typed-array constructors with the native onnxruntime binding (see the file).
  testEnvironment: '<rootDir>/src/inference/testing/onnx-jest-environment.ts',
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', rootDir: '.', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
    },
  ],
  // Global, not per project: Jest ignores testTimeout inside a project entry. E2E files boot a whole app.
  testTimeout: 60000,
};
