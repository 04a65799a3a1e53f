// ts-jest AST transformer running the Swagger CLI plugin, so tests see the same OpenAPI metadata as `nest build`.
const plugin = require('@nestjs/swagger/plugin');

module.exports.name = 'nestjs-swagger-transformer';
// Bump when the options change, to invalidate ts-jest's cache.
module.exports.version = 1;
module.exports.factory = (compiler) =>
  plugin.before(
    { classValidatorShim: true, introspectComments: true, dtoFileNameSuffix: ['.dto.ts', '.entity.ts'] },
    compiler.program,
  );
