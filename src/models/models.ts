import { DataTypes, Model, type InferAttributes, type InferCreationAttributes, type CreationOptional, type Sequelize } from 'sequelize';

class UserModel extends Model<InferAttributes<UserModel>, InferCreationAttributes<UserModel>> {
  declare id: CreationOptional<number>;
  declare name: string;
  declare balance: CreationOptional<number>;
  declare createdAt: CreationOptional<Date>;
}

class ConcertModel extends Model<InferAttributes<ConcertModel>, InferCreationAttributes<ConcertModel>> {
  declare id: CreationOptional<number>;
  declare title: string;
  declare venue: string;
  declare createdAt: CreationOptional<Date>;
}

class ConcertDateModel extends Model<InferAttributes<ConcertDateModel>, InferCreationAttributes<ConcertDateModel>> {
  declare id: CreationOptional<number>;
  declare concertId: number;
  declare startsAt: Date;
  declare totalSeats: number;
  declare version: CreationOptional<number>;
  declare ownerFence: CreationOptional<number>;
}

class SeatModel extends Model<InferAttributes<SeatModel>, InferCreationAttributes<SeatModel>> {
  declare dateId: number;
  declare number: number;
  declare grade: string;
  declare price: number;
}

export interface Models {
  User: typeof UserModel;
  Concert: typeof ConcertModel;
  ConcertDate: typeof ConcertDateModel;
  Seat: typeof SeatModel;
}

/**
 * Sequelize models for the tables read and written through the ORM (users, catalog).
 * The seat and money hot paths (reservations, payments, ledger) use plain SQL in
 * their repositories: each is a handful of statements whose conditions are the point.
 */
export function defineModels(sequelize: Sequelize): Models {
  // Fresh subclasses per connection: Model.init binds a class to one Sequelize
  // instance, and tests run several apps (several databases handles) in one process.
  class User extends UserModel {}
  class Concert extends ConcertModel {}
  class ConcertDate extends ConcertDateModel {}
  class Seat extends SeatModel {}
  const common = { sequelize, underscored: true, timestamps: false } as const;
  User.init(
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      name: { type: DataTypes.TEXT, allowNull: false },
      balance: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 },
      createdAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
    },
    { ...common, tableName: 'users' },
  );
  Concert.init(
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      title: { type: DataTypes.TEXT, allowNull: false },
      venue: { type: DataTypes.TEXT, allowNull: false },
      createdAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
    },
    { ...common, tableName: 'concerts' },
  );
  ConcertDate.init(
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      concertId: { type: DataTypes.INTEGER, allowNull: false },
      startsAt: { type: DataTypes.DATE, allowNull: false },
      totalSeats: { type: DataTypes.INTEGER, allowNull: false },
      version: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 },
      ownerFence: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 },
    },
    { ...common, tableName: 'concert_dates' },
  );
  Seat.init(
    {
      dateId: { type: DataTypes.INTEGER, primaryKey: true },
      number: { type: DataTypes.INTEGER, primaryKey: true },
      grade: { type: DataTypes.TEXT, allowNull: false },
      price: { type: DataTypes.INTEGER, allowNull: false },
    },
    { ...common, tableName: 'seats' },
  );
  Concert.hasMany(ConcertDate, { foreignKey: 'concertId', as: 'dates' });
  ConcertDate.belongsTo(Concert, { foreignKey: 'concertId', as: 'concert' });
  return { User, Concert, ConcertDate, Seat };
}
